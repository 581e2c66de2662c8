"""The fake Discord over HTTP: auth, guilds, channels, overwrites, roles, invites, errors."""

from __future__ import annotations

from typing import Any

import pytest
import requests

TOKEN = "sandbox-discord-token"
BOT_ID = "100000000000000001"
VIEW_CHANNEL, SEND_MESSAGES, READ_HISTORY = 1024, 2048, 65536
MANAGE_CHANNELS, MANAGE_GUILD, MANAGE_ROLES, ADMINISTRATOR = 16, 32, 1 << 28, 8
CREATE_INSTANT_INVITE = 1


class Bot:
    """The bot's side of the API: ``bot("POST", "/guilds/1/channels", json=...)``."""

    def __init__(self, base_url: str, token: str = TOKEN) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bot {token}"

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.base_url + path, timeout=5, **kwargs)


@pytest.fixture
def bot(sandbox) -> Bot:
    return Bot(sandbox.discord_api_url)


@pytest.fixture
def guild(sandbox_control) -> dict[str, Any]:
    return sandbox_control.create_guild("Staff-made server")


def assert_error(response: requests.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str)
    return body


def field_errors(response: requests.Response, *path: str) -> list[dict[str, str]]:
    body = assert_error(response, 400, 50035)
    assert body["message"] == "Invalid Form Body"
    node = body["errors"]
    for part in path:
        node = node[part]
    return node["_errors"]


# -- auth and guilds ------------------------------------------------------------------------------
def test_requests_without_or_with_a_wrong_token_are_unauthorized(sandbox):
    url = f"{sandbox.discord_api_url}/users/@me"
    for headers in ({}, {"Authorization": "Bot wrong"}, {"Authorization": f"Bearer {TOKEN}"}):
        response = requests.get(url, headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.json() == {"message": "401: Unauthorized", "code": 0}


def test_token_and_identity_come_from_options(sandbox, sandbox_control):
    sandbox_control.configure(discord={"bot_token": "other", "bot_name": "Renamed"})
    assert Bot(sandbox.discord_api_url)("GET", "/users/@me").status_code == 401
    me = Bot(sandbox.discord_api_url, "other")("GET", "/users/@me").json()
    assert me == {**me, "id": BOT_ID, "username": "Renamed", "bot": True}


def test_bots_cannot_create_guilds(bot):
    response = bot("POST", "/guilds", json={"name": "Course 101"})
    body = assert_error(response, 403, 20001)
    assert body["message"] == "Bots cannot use this endpoint"


def test_staff_made_guild_is_readable_with_roles_and_owner(bot, guild):
    response = bot("GET", f"/guilds/{guild['id']}")
    assert response.status_code == 200
    data = response.json()
    assert data["name"] == "Staff-made server"
    assert data["owner_id"] != BOT_ID  # staff own it, not the bot
    everyone = next(role for role in data["roles"] if role["id"] == guild["id"])
    assert everyone["name"] == "@everyone" and everyone["position"] == 0
    bot_role = next(role for role in data["roles"] if role["managed"])
    assert bot_role["tags"] == {"bot_id": BOT_ID}
    assert int(bot_role["permissions"]) & (MANAGE_GUILD | MANAGE_CHANNELS | MANAGE_ROLES)
    member = bot("GET", f"/guilds/{guild['id']}/members/{BOT_ID}").json()
    assert member["roles"] == [bot_role["id"]]
    assert [g["id"] for g in bot("GET", "/users/@me/guilds").json()] == [guild["id"]]


def test_unknown_guild_and_guild_without_the_bot_are_both_unknown(bot, sandbox_control):
    elsewhere = sandbox_control.create_guild("Bot not added", bot_member=False)
    assert_error(bot("GET", "/guilds/123456789012345678"), 404, 10004)
    assert_error(bot("GET", f"/guilds/{elsewhere['id']}"), 404, 10004)
    assert_error(bot("GET", f"/guilds/{elsewhere['id']}/channels"), 404, 10004)
    assert bot("GET", "/users/@me/guilds").json() == []


def test_unknown_member_and_non_snowflake_ids(bot, guild):
    assert_error(bot("GET", f"/guilds/{guild['id']}/members/42"), 404, 10007)
    errors = field_errors(bot("GET", "/guilds/abc"), "guild_id")
    assert errors[0]["code"] == "NUMBER_TYPE_COERCE"


def test_rename_guild_needs_manage_guild(bot, guild, sandbox_control):
    renamed = bot("PATCH", f"/guilds/{guild['id']}", json={"name": "CS 101 — Fall"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "CS 101 — Fall"
    weak = sandbox_control.create_guild("No manage guild", permissions=str(MANAGE_CHANNELS))
    assert_error(bot("PATCH", f"/guilds/{weak['id']}", json={"name": "Nope"}), 403, 50013)
    assert field_errors(bot("PATCH", f"/guilds/{guild['id']}", json={"name": "x"}), "name")


def test_staff_create_guild_rejects_nonsense(sandbox):
    url = f"{sandbox.url}/_sandbox/discord/guilds"
    for body in ({"name": ""}, {"name": "ok ok", "permissions": "lots"}, {"name": "ok", "x": 1}):
        assert requests.post(url, json=body, timeout=5).status_code == 400


def test_default_channels_match_discords_own_template(bot, sandbox_control):
    guild = sandbox_control.create_guild("Template", default_channels=True)
    channels = bot("GET", f"/guilds/{guild['id']}/channels").json()
    shape = sorted((c["type"], c["name"]) for c in channels)
    assert shape == [(0, "general"), (2, "General"), (4, "Text Channels"), (4, "Voice Channels")]


# -- channels -------------------------------------------------------------------------------------
def test_text_channel_names_are_normalized_but_voice_and_category_names_are_not(bot, guild):
    path = f"/guilds/{guild['id']}/channels"
    text = bot("POST", path, json={"name": "QA Help!!", "type": 0, "topic": "Ask here"})
    assert text.status_code == 201
    assert text.json()["name"] == "qa-help" and text.json()["topic"] == "Ask here"
    category = bot("POST", path, json={"name": "Week 1: Intro", "type": 4}).json()
    assert category["name"] == "Week 1: Intro" and category["type"] == 4
    voice = bot("POST", path, json={"name": "Office Hours", "type": 2}).json()
    assert voice["name"] == "Office Hours"
    listed = {c["id"]: c["name"] for c in bot("GET", path).json()}
    assert listed[text.json()["id"]] == "qa-help"


def test_private_channel_in_a_category_with_overwrites(bot, guild, sandbox_control):
    gid = guild["id"]
    role = bot("POST", f"/guilds/{gid}/roles", json={"name": "Group 1", "permissions": 0}).json()
    category = bot("POST", f"/guilds/{gid}/channels", json={"name": "Groups", "type": 4}).json()
    overwrites = [
        {"id": gid, "type": 0, "deny": VIEW_CHANNEL},
        {"id": role["id"], "type": 0, "allow": VIEW_CHANNEL | SEND_MESSAGES | READ_HISTORY},
        {"id": BOT_ID, "type": 1, "allow": VIEW_CHANNEL},
    ]
    body = {"name": "Group 1", "parent_id": category["id"], "permission_overwrites": overwrites}
    response = bot("POST", f"/guilds/{gid}/channels", json=body)
    assert response.status_code == 201, response.text
    channel = response.json()
    assert channel["parent_id"] == category["id"] and channel["name"] == "group-1"
    stored = {o["id"]: o for o in channel["permission_overwrites"]}
    assert stored[gid] == {"id": gid, "type": 0, "allow": "0", "deny": "1024"}
    assert stored[role["id"]]["allow"] == "68608"
    assert stored[BOT_ID]["type"] == 1
    snapshot = sandbox_control.state()["discord"]["guilds"][gid]
    saved = next(c for c in snapshot["channels"] if c["id"] == channel["id"])
    assert saved["permission_overwrites"] == channel["permission_overwrites"]


def test_channel_creation_needs_manage_channels(bot, sandbox_control):
    weak = sandbox_control.create_guild("Weak", permissions=str(MANAGE_ROLES))
    response = bot("POST", f"/guilds/{weak['id']}/channels", json={"name": "x"})
    assert response.json() == {"message": "Missing Permissions", "code": 50013}
    assert response.status_code == 403


def test_overwrites_need_manage_roles_and_only_held_permissions(bot, sandbox_control):
    no_roles = sandbox_control.create_guild("No roles", permissions=str(MANAGE_CHANNELS))
    body = {"name": "x", "permission_overwrites": [{"id": no_roles["id"], "deny": VIEW_CHANNEL}]}
    assert_error(bot("POST", f"/guilds/{no_roles['id']}/channels", json=body), 403, 50013)
    # The bot has MANAGE_ROLES but not KICK_MEMBERS (2): it cannot grant it in an overwrite.
    guild = sandbox_control.create_guild("Roles", permissions=str(MANAGE_CHANNELS | MANAGE_ROLES))
    grant = {"name": "x", "permission_overwrites": [{"id": guild["id"], "type": 0, "allow": 2}]}
    assert_error(bot("POST", f"/guilds/{guild['id']}/channels", json=grant), 403, 50013)
    # Only administrators may put MANAGE_ROLES itself in an overwrite.
    escalate = {
        "name": "x",
        "permission_overwrites": [{"id": guild["id"], "type": 0, "allow": MANAGE_ROLES}],
    }
    assert_error(bot("POST", f"/guilds/{guild['id']}/channels", json=escalate), 403, 50013)
    admin = sandbox_control.create_guild("Admin", permissions=ADMINISTRATOR)
    escalate["permission_overwrites"][0]["id"] = admin["id"]
    assert bot("POST", f"/guilds/{admin['id']}/channels", json=escalate).status_code == 201
    assert sandbox_control.state()["discord"]["guilds"][guild["id"]]["channels"] == []


def test_invalid_bodies_get_discords_form_errors(bot, guild):
    path = f"/guilds/{guild['id']}/channels"
    too_long = field_errors(bot("POST", path, json={"name": "x" * 101}), "name")
    assert too_long == [
        {"code": "BASE_TYPE_BAD_LENGTH", "message": "Must be between 1 and 100 in length."}
    ]
    wrong_type = field_errors(bot("POST", path, json={"name": "ok", "type": "text"}), "type")
    assert wrong_type[0]["code"] == "NUMBER_TYPE_COERCE"
    assert field_errors(bot("POST", path, json={"type": 0}), "name")[0]["code"] == (
        "BASE_TYPE_REQUIRED"
    )
    # Permissions are integers in the official description; a string is refused.
    body = {"name": "ok", "permission_overwrites": [{"id": guild["id"], "allow": "1024"}]}
    assert field_errors(bot("POST", path, json=body), "permission_overwrites", "0", "allow")
    assert field_errors(bot("POST", path, json=["not", "an", "object"]))
    malformed = bot("POST", path, data="{nope", headers={"Content-Type": "application/json"})
    assert malformed.json() == {"message": "The request body contains invalid JSON.", "code": 50109}


def test_parent_must_be_a_category_of_the_guild(bot, guild):
    path = f"/guilds/{guild['id']}/channels"
    text = bot("POST", path, json={"name": "plain"}).json()
    for parent in (text["id"], "123456789012345678"):
        errors = field_errors(
            bot("POST", path, json={"name": "x", "parent_id": parent}), "parent_id"
        )
        assert errors[0]["code"] == "CHANNEL_PARENT_INVALID"


def test_channel_limits(bot, guild, sandbox_control):
    sandbox_control.configure(discord={"max_channels": 4, "max_channels_per_category": 2})
    path = f"/guilds/{guild['id']}/channels"
    category = bot("POST", path, json={"name": "Full", "type": 4}).json()
    for index in range(2):
        body = {"name": f"c{index}", "parent_id": category["id"]}
        assert bot("POST", path, json=body).status_code == 201
    body = {"name": "c2", "parent_id": category["id"]}
    errors = field_errors(bot("POST", path, json=body), "parent_id")
    assert errors[0]["code"] == "CHANNEL_PARENT_MAX_CHANNELS"
    assert bot("POST", path, json={"name": "outside"}).status_code == 201
    assert_error(bot("POST", path, json={"name": "one too many"}), 400, 30013)


def test_channel_read_edit_delete(bot, guild):
    gid = guild["id"]
    channel = bot("POST", f"/guilds/{gid}/channels", json={"name": "announcements"}).json()
    path = f"/channels/{channel['id']}"
    assert bot("GET", path).json()["name"] == "announcements"
    edited = bot("PATCH", path, json={"name": "News & Notes", "topic": "Read me"}).json()
    assert (edited["name"], edited["topic"]) == ("news-notes", "Read me")
    assert field_errors(bot("PATCH", path, json={"name": ""}), "name")
    assert bot("DELETE", path).json()["id"] == channel["id"]
    assert_error(bot("GET", path), 404, 10003)
    assert_error(bot("DELETE", path), 404, 10003)


def test_single_overwrites_put_and_delete(bot, guild):
    gid = guild["id"]
    channel = bot("POST", f"/guilds/{gid}/channels", json={"name": "lab"}).json()
    path = f"/channels/{channel['id']}/permissions/{gid}"
    assert bot("PUT", path, json={"type": 0, "deny": SEND_MESSAGES}).status_code == 204
    assert bot("GET", f"/channels/{channel['id']}").json()["permission_overwrites"] == [
        {"id": gid, "type": 0, "allow": "0", "deny": "2048"}
    ]
    # A role id declared as a member: Discord's "Unknown Overwrite".
    assert_error(bot("PUT", path, json={"type": 1, "deny": SEND_MESSAGES}), 404, 10009)
    assert bot("DELETE", path).status_code == 204
    assert_error(bot("DELETE", path), 404, 10009)
    # Denying @everyone VIEW_CHANNEL without an allow for the bot locks the bot out.
    assert bot("PUT", path, json={"type": 0, "deny": VIEW_CHANNEL}).status_code == 204
    assert_error(bot("GET", f"/channels/{channel['id']}"), 403, 50001)
    bot_path = f"/channels/{channel['id']}/permissions/{BOT_ID}"
    assert_error(bot("PUT", bot_path, json={"type": 1, "allow": VIEW_CHANNEL}), 403, 50001)


# -- roles ----------------------------------------------------------------------------------------
def test_roles_need_manage_roles_and_held_permissions(bot, guild, sandbox_control):
    path = f"/guilds/{guild['id']}/roles"
    created = bot("POST", path, json={"name": "Tutors", "permissions": VIEW_CHANNEL, "hoist": True})
    assert created.status_code == 200
    role = created.json()
    assert (role["name"], role["permissions"], role["position"]) == ("Tutors", "1024", 1)
    # The bot's own role moved up and stays above the roles it creates.
    roles = {r["id"]: r for r in bot("GET", path).json()}
    managed = next(r for r in roles.values() if r["managed"])
    assert managed["position"] > role["position"]
    assert_error(
        bot("POST", path, json={"name": "Admins", "permissions": ADMINISTRATOR}), 403, 50013
    )
    weak = sandbox_control.create_guild("No roles", permissions=str(MANAGE_CHANNELS))
    assert_error(bot("POST", f"/guilds/{weak['id']}/roles", json={"name": "x"}), 403, 50013)
    assert field_errors(bot("POST", path, json={"name": "x", "permissions": "1024"}), "permissions")


def test_role_limit(bot, guild, sandbox_control):
    sandbox_control.configure(discord={"max_roles": 4})  # @everyone + the bot's role + 2
    path = f"/guilds/{guild['id']}/roles"
    for index in range(2):
        assert bot("POST", path, json={"name": f"r{index}"}).status_code == 200
    body = assert_error(bot("POST", path, json={"name": "r2"}), 400, 30005)
    assert body["message"] == "Maximum number of guild roles reached (4)"


# -- invites --------------------------------------------------------------------------------------
def test_invites_with_roles(bot, guild, sandbox_control):
    gid = guild["id"]
    channel = bot("POST", f"/guilds/{gid}/channels", json={"name": "welcome"}).json()
    role = bot("POST", f"/guilds/{gid}/roles", json={"name": "Students"}).json()
    path = f"/channels/{channel['id']}/invites"
    assert bot("POST", path).json()["code"] == 50109  # a body is required, {} will do
    plain = bot("POST", path, json={})
    assert plain.status_code == 200 and plain.json()["max_age"] == 86400
    again = bot("POST", path, json={}).json()
    assert again["code"] == plain.json()["code"]  # not unique: Discord hands back the same one
    body = {"max_age": 0, "max_uses": 100, "unique": True, "role_ids": [role["id"]]}
    invite = bot("POST", path, json=body).json()
    assert invite["expires_at"] is None and [r["id"] for r in invite["roles"]] == [role["id"]]
    assert {i["code"] for i in bot("GET", path).json()} == {plain.json()["code"], invite["code"]}
    managed = next(r for r in bot("GET", f"/guilds/{gid}/roles").json() if r["managed"])
    assert_error(bot("POST", path, json={"role_ids": [managed["id"]]}), 403, 50013)
    assert field_errors(bot("POST", path, json={"max_uses": 101}), "max_uses")
    snapshot = sandbox_control.state()["discord"]["guilds"][gid]
    assert {i["code"] for i in snapshot["invites"]} == {plain.json()["code"], invite["code"]}


def test_channels_hidden_from_the_bot_are_missing_access(bot, guild, sandbox_control):
    gid = guild["id"]
    body = {"name": "staff only", "permission_overwrites": [{"id": gid, "deny": VIEW_CHANNEL}]}
    hidden = bot("POST", f"/guilds/{gid}/channels", json=body).json()
    assert_error(bot("GET", f"/channels/{hidden['id']}"), 403, 50001)
    elsewhere = sandbox_control.create_guild("Not added", bot_member=False, default_channels=True)
    channel_id = elsewhere["channels"][0]["id"]
    assert_error(bot("GET", f"/channels/{channel_id}"), 403, 50001)
