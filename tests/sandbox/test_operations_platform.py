"""What archive, unarchive, tear down, verify and repair need from the fake platforms, over HTTP.

Discord: deleting roles (and what goes with them), editing and deleting channels and overwrites.
GitHub: deleting (admin only), renaming with GitHub's redirects, archiving (an archived repository
refuses every write with 403 "Repository was archived so is read-only."), reading protection.
Control endpoints: people changing things behind the app's back, for drift tests.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests

from sandbox.server import RunningSandbox
from tests.sandbox.test_discord_api import (
    MANAGE_CHANNELS,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    Bot,
    assert_error,
    field_errors,
)

TOKEN = "sandbox-github-token"
ORG = "course-org"
BOT_ALLOW = {"id": "100000000000000001", "type": 1, "allow": VIEW_CHANNEL, "deny": 0}
ARCHIVED = "Repository was archived so is read-only."
PROTECTION = {
    "required_status_checks": None,
    "enforce_admins": False,
    "required_pull_request_reviews": {"required_approving_review_count": 1},
    "restrictions": None,
    "allow_force_pushes": False,
    "allow_deletions": False,
}


@pytest.fixture
def bot(sandbox: RunningSandbox) -> Bot:
    return Bot(sandbox.discord_api_url)


@pytest.fixture
def guild(sandbox_control) -> dict[str, Any]:
    return sandbox_control.create_guild("Staff-made server")


def discord_state(sandbox_control, guild_id: str) -> dict[str, Any]:
    return sandbox_control.state()["discord"]["guilds"][guild_id]


# -- Discord: roles ------------------------------------------------------------------------------
def test_delete_role_takes_it_off_members_overwrites_and_invites(bot, guild, sandbox_control):
    gid = guild["id"]
    role = bot("POST", f"/guilds/{gid}/roles", json={"name": "Group 1", "permissions": 0}).json()
    channel = bot(
        "POST",
        f"/guilds/{gid}/channels",
        json={
            "name": "group-1",
            "permission_overwrites": [
                {"id": gid, "type": 0, "deny": VIEW_CHANNEL},
                {"id": role["id"], "type": 0, "allow": VIEW_CHANNEL | SEND_MESSAGES},
                {"id": "100000000000000001", "type": 1, "allow": VIEW_CHANNEL},
            ],
        },
    ).json()
    invite = bot("POST", f"/channels/{channel['id']}/invites", json={"role_ids": [role["id"]]})
    assert invite.status_code == 200

    deleted = bot(
        "DELETE", f"/guilds/{gid}/roles/{role['id']}", headers={"X-Audit-Log-Reason": "x"}
    )

    assert deleted.status_code == 204 and deleted.content == b""
    state = discord_state(sandbox_control, gid)
    assert role["id"] not in [r["id"] for r in state["roles"]]
    overwrites = bot("GET", f"/channels/{channel['id']}").json()["permission_overwrites"]
    assert role["id"] not in [o["id"] for o in overwrites]
    assert [o["id"] for o in overwrites] == [gid, "100000000000000001"]
    assert state["invites"][0]["role_ids"] == []
    assert state["audit_log"][-1]["action"] == "ROLE_DELETE"
    # Positions stay contiguous: @everyone 0, the bot's role just above.
    assert [r["position"] for r in state["roles"]] == [0, 1]
    # Gone: a second delete is Discord's Unknown Role.
    assert_error(bot("DELETE", f"/guilds/{gid}/roles/{role['id']}"), 404, 10011)


def test_delete_role_refusals(bot, sandbox_control):
    guild = sandbox_control.create_guild("No roles", permissions=VIEW_CHANNEL | MANAGE_CHANNELS)
    gid = guild["id"]
    bot_role = next(r for r in discord_state(sandbox_control, gid)["roles"] if r["managed"])
    # @everyone and the bot's own managed role cannot be deleted: Invalid Role.
    full = sandbox_control.create_guild("Full")
    full_roles = discord_state(sandbox_control, full["id"])["roles"]
    assert_error(bot("DELETE", f"/guilds/{full['id']}/roles/{full['id']}"), 400, 50028)
    managed = next(r for r in full_roles if r["managed"])
    assert_error(bot("DELETE", f"/guilds/{full['id']}/roles/{managed['id']}"), 400, 50028)
    # Without MANAGE_ROLES: Missing Permissions.
    assert_error(bot("DELETE", f"/guilds/{gid}/roles/{bot_role['id']}"), 403, 50013)
    # A server the bot is not in: Unknown Guild; a role id that is not a snowflake: 50035.
    stranger = sandbox_control.create_guild("Stranger", bot_member=False)
    assert_error(bot("DELETE", f"/guilds/{stranger['id']}/roles/{stranger['id']}"), 404, 10004)
    assert field_errors(bot("DELETE", f"/guilds/{full['id']}/roles/abc"), "role_id")


def test_delete_role_above_the_bot_is_refused(bot, guild, sandbox):
    gid = guild["id"]
    role = bot("POST", f"/guilds/{gid}/roles", json={"name": "Staff", "permissions": 0}).json()
    # Staff drag the role above the bot's own in Discord's app (no API for the bot here).
    fake = sandbox.sandbox.platforms["discord"]
    with sandbox.sandbox.lock:
        roles = fake.state.guilds[gid].roles
        roles[role["id"]].position = max(r.position for r in roles.values()) + 1

    assert_error(bot("DELETE", f"/guilds/{gid}/roles/{role['id']}"), 403, 50013)

    with sandbox.sandbox.lock:
        roles[role["id"]].position = 1
    assert bot("DELETE", f"/guilds/{gid}/roles/{role['id']}").status_code == 204


# -- Discord: channels and overwrites --------------------------------------------------------------
def test_patch_channel_replaces_name_and_all_overwrites(bot, guild):
    gid = guild["id"]
    role = bot("POST", f"/guilds/{gid}/roles", json={"name": "Group 1", "permissions": 0}).json()
    channel = bot(
        "POST",
        f"/guilds/{gid}/channels",
        json={
            "name": "lab",
            "permission_overwrites": [{"id": gid, "type": 0, "deny": VIEW_CHANNEL}, BOT_ALLOW],
        },
    ).json()
    overwrites = [
        {"id": gid, "type": 0, "allow": 0, "deny": SEND_MESSAGES},
        {"id": role["id"], "type": 0, "allow": VIEW_CHANNEL, "deny": SEND_MESSAGES},
        BOT_ALLOW,
    ]
    path = f"/channels/{channel['id']}"

    edited = bot("PATCH", path, json={"name": "Lab Archive", "permission_overwrites": overwrites})

    assert edited.status_code == 200, edited.text
    answer = edited.json()
    assert answer["name"] == "lab-archive"
    assert answer["permission_overwrites"] == [
        {"id": gid, "type": 0, "allow": "0", "deny": str(SEND_MESSAGES)},
        {"id": role["id"], "type": 0, "allow": str(VIEW_CHANNEL), "deny": str(SEND_MESSAGES)},
        {"id": BOT_ALLOW["id"], "type": 1, "allow": str(VIEW_CHANNEL), "deny": "0"},
    ]
    # The same PATCH again changes nothing (absolute values): safe to repeat.
    again = bot("PATCH", path, json={"name": "Lab Archive", "permission_overwrites": overwrites})
    assert again.json() == answer
    # Overwrites are validated against the official description: strings are not integers...
    bad = [{"id": gid, "type": 0, "allow": "x", "deny": 0}]
    problems = field_errors(
        bot("PATCH", path, json={"permission_overwrites": bad}),
        "permission_overwrites",
        "0",
        "allow",
    )
    assert problems[0]["code"] == "NUMBER_TYPE_COERCE"
    # ... and an id that is no role of the server is Unknown Overwrite.
    stray = [{"id": "123456789012345678", "type": 0, "allow": 0, "deny": 0}]
    assert_error(bot("PATCH", path, json={"permission_overwrites": stray}), 404, 10009)


# Read-only for members at semester end: sending, threads and reactions denied.
ARCHIVE_DENY = SEND_MESSAGES | (1 << 35) | (1 << 36) | (1 << 38) | (1 << 6)


def test_archive_denies_need_the_bot_to_hold_them_itself(bot, guild, sandbox):
    """A bot may deny in an overwrite only what it holds: in a server made by a person,
    @everyone's defaults give the bot the thread and reaction bits; trimmed, it is 50013."""
    gid = guild["id"]
    channel = bot("POST", f"/guilds/{gid}/channels", json={"name": "general"}).json()
    archived = [{"id": gid, "type": 0, "allow": 0, "deny": ARCHIVE_DENY}, BOT_ALLOW]
    path = f"/channels/{channel['id']}"
    assert bot("PATCH", path, json={"permission_overwrites": archived}).status_code == 200

    fake = sandbox.sandbox.platforms["discord"]
    with sandbox.sandbox.lock:
        fake.state.guilds[gid].everyone.permissions &= ~(1 << 6)  # staff removed reactions
    other = bot("POST", f"/guilds/{gid}/channels", json={"name": "lectures"}).json()
    refused = bot("PATCH", f"/channels/{other['id']}", json={"permission_overwrites": archived})
    assert_error(refused, 403, 50013)


def test_get_and_delete_of_a_deleted_channel_are_unknown_channel(bot, guild):
    channel = bot("POST", f"/guilds/{guild['id']}/channels", json={"name": "gone"}).json()
    path = f"/channels/{channel['id']}"
    assert bot("DELETE", path).status_code == 200
    assert_error(bot("GET", path), 404, 10003)
    assert_error(bot("DELETE", path), 404, 10003)
    assert_error(bot("PATCH", path, json={"name": "back"}), 404, 10003)
    assert_error(bot("PUT", f"{path}/permissions/{guild['id']}", json={"type": 0}), 404, 10003)


def test_overwrite_needs_manage_roles(bot, sandbox_control):
    guild = sandbox_control.create_guild(
        "Channels only", permissions=VIEW_CHANNEL | SEND_MESSAGES | MANAGE_CHANNELS
    )
    gid = guild["id"]
    channel = bot("POST", f"/guilds/{gid}/channels", json={"name": "x"}).json()
    path = f"/channels/{channel['id']}/permissions/{gid}"
    assert_error(bot("PUT", path, json={"type": 0, "deny": SEND_MESSAGES}), 403, 50013)
    assert_error(bot("DELETE", path), 403, 50013)


# -- Discord control endpoints --------------------------------------------------------------------
def test_control_deletes_a_channel_drops_an_overwrite_deletes_a_role_kicks_the_bot(
    bot, guild, sandbox_control, sandbox
):
    gid = guild["id"]
    role = bot("POST", f"/guilds/{gid}/roles", json={"name": "Group 1", "permissions": 0}).json()
    overwrites = [
        {"id": gid, "type": 0, "deny": VIEW_CHANNEL},
        {"id": role["id"], "type": 0, "allow": VIEW_CHANNEL},
    ]
    kept = bot(
        "POST",
        f"/guilds/{gid}/channels",
        json={"name": "kept", "permission_overwrites": overwrites},
    ).json()
    doomed = bot("POST", f"/guilds/{gid}/channels", json={"name": "doomed"}).json()
    before = len(sandbox_control.requests())

    sandbox_control.delete_channel(doomed["id"])
    sandbox_control.drop_overwrite(kept["id"], gid)

    assert_error(bot("GET", f"/channels/{doomed['id']}"), 404, 10003)
    shown = bot("GET", f"/channels/{kept['id']}").json()["permission_overwrites"]
    assert [o["id"] for o in shown] == [role["id"]]  # the channel is public now: drift
    # Control calls are not requests to the platform: the log shows only the bot's two GETs.
    assert [e["method"] for e in sandbox_control.requests()[before:]] == ["GET", "GET"]

    sandbox_control.delete_role(gid, role["id"])
    assert_error(bot("DELETE", f"/guilds/{gid}/roles/{role['id']}"), 404, 10011)

    sandbox_control.remove_bot(gid)
    assert_error(bot("GET", f"/guilds/{gid}"), 404, 10004)
    assert not discord_state(sandbox_control, gid)["bot_member"]
    assert not any(r["managed"] for r in discord_state(sandbox_control, gid)["roles"])

    # Unknown objects are 404 with a message, never a 500.
    control = f"{sandbox.url}/_sandbox/discord"
    for path in (
        f"/channels/{doomed['id']}",
        f"/channels/{kept['id']}/overwrites/{gid}",
        f"/guilds/{gid}/roles/{role['id']}",
        f"/guilds/{gid}/bot",
        "/guilds/999/roles/1",
    ):
        answer = requests.delete(control + path, timeout=5)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["message"]


# -- GitHub ---------------------------------------------------------------------------------------
class GitHub:
    def __init__(self, base_url: str, token: str = TOKEN) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return self.session.request(method, self.base_url + path, timeout=5, **kwargs)


@pytest.fixture
def gh(sandbox: RunningSandbox, sandbox_control) -> GitHub:
    sandbox_control.create_org(ORG, plan="team")
    return GitHub(sandbox.github_api_url)


def make_repo(gh: GitHub, name: str = "algo") -> dict[str, Any]:
    created = gh(
        "POST", f"/orgs/{ORG}/repos", json={"name": name, "private": True, "auto_init": True}
    )
    assert created.status_code == 201, created.text
    return created.json()


def assert_github_error(response: requests.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["message"] == message
    assert body["status"] == str(status)
    assert body["documentation_url"].startswith("https://docs.github.com/")


def test_archived_repository_refuses_every_write_and_unarchives(gh, sandbox_control):
    repo = make_repo(gh)
    base = f"/repos/{ORG}/algo"
    assert gh("PUT", f"{base}/branches/main/protection", json=PROTECTION).status_code == 200
    head = gh("GET", f"{base}/git/ref/heads/main").json()["object"]["sha"]
    tree = gh("GET", f"{base}/git/commits/{head}").json()["tree"]["sha"]

    archived = gh("PATCH", base, json={"archived": True})
    assert archived.status_code == 200 and archived.json()["archived"] is True
    # Archiving again is harmless.
    assert gh("PATCH", base, json={"archived": True}).json()["archived"] is True

    content = base64.b64encode(b"x").decode()
    writes = [
        ("PUT", f"{base}/contents/new.md", {"message": "m", "content": content}),
        ("POST", f"{base}/git/blobs", {"content": "x"}),
        ("POST", f"{base}/git/trees", {"base_tree": tree, "tree": []}),
        ("POST", f"{base}/git/commits", {"message": "m", "tree": tree, "parents": [head]}),
        ("PATCH", f"{base}/git/refs/heads/main", {"sha": head}),
        ("POST", f"{base}/git/refs", {"ref": "refs/heads/x", "sha": head}),
        ("PUT", f"{base}/branches/main/protection", PROTECTION),
        ("DELETE", f"{base}/branches/main/protection", None),
        ("PUT", f"{base}/topics", {"names": ["x"]}),
        ("POST", f"{base}/labels", {"name": "x"}),
        ("PATCH", base, {"description": "edited"}),
        ("PATCH", base, {"name": "renamed"}),
    ]
    for method, path, body in writes:
        assert_github_error(gh(method, path, json=body), 403, ARCHIVED)
    # Reads still work, protection included.
    assert gh("GET", f"{base}/branches/main/protection").status_code == 200
    assert gh("GET", base).json()["archived"] is True
    state = sandbox_control.state()["github"]["repos"][f"{ORG}/algo"]
    assert state["archived"] is True and state["commits"] == 1 and state["protection"]

    unarchived = gh("PATCH", base, json={"archived": False})
    assert unarchived.status_code == 200 and unarchived.json()["archived"] is False
    assert gh("PUT", f"{base}/topics", json={"names": ["x"]}).status_code == 200
    assert repo["archived"] is False


def test_delete_repository_204_then_404_and_admin_only(gh, sandbox_control, sandbox):
    make_repo(gh, "doomed")
    gh("PATCH", f"/repos/{ORG}/doomed", json={"archived": True})
    # An archived repository can be deleted.
    deleted = gh("DELETE", f"/repos/{ORG}/doomed")
    assert deleted.status_code == 204 and deleted.content == b""
    assert_github_error(gh("GET", f"/repos/{ORG}/doomed"), 404, "Not Found")
    assert_github_error(gh("DELETE", f"/repos/{ORG}/doomed"), 404, "Not Found")
    # The name is free again.
    make_repo(gh, "doomed")

    sandbox_control.create_org("member-org", role="member")
    created = gh("POST", "/orgs/member-org/repos", json={"name": "kept"})
    assert created.status_code == 201
    assert_github_error(
        gh("DELETE", "/repos/member-org/kept"), 403, "Must have admin rights to Repository."
    )
    anonymous = requests.delete(f"{sandbox.github_api_url}/repos/{ORG}/doomed", timeout=5)
    assert anonymous.status_code == 401
    assert f"{ORG}/doomed" in sandbox_control.state()["github"]["repos"]


def test_rename_redirects_the_old_name_and_frees_it_for_a_new_repository(gh):
    repo = make_repo(gh, "old-name")
    renamed = gh("PATCH", f"/repos/{ORG}/old-name", json={"name": "new-name", "description": "d"})
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["id"]) == ("new-name", repo["id"])

    moved = gh("GET", f"/repos/{ORG}/old-name")
    assert moved.status_code == 301
    assert moved.headers["location"].endswith(f"/repositories/{repo['id']}")
    assert moved.json()["message"] == "Moved Permanently"
    assert gh("GET", f"/repos/{ORG}/old-name", allow_redirects=True).json()["name"] == "new-name"
    # Writes to the old name answer 307: to be repeated verbatim at the location.
    write = gh("PATCH", f"/repos/{ORG}/old-name", json={"name": "new-name"})
    assert write.status_code == 307
    assert write.headers["location"].endswith(f"/repositories/{repo['id']}")
    assert gh("DELETE", f"/repos/{ORG}/old-name").status_code == 307
    by_id = gh("GET", f"/repositories/{repo['id']}")
    assert by_id.status_code == 200 and by_id.json()["full_name"] == f"{ORG}/new-name"
    # A name taken by another repository is refused.
    make_repo(gh, "taken")
    taken = gh("PATCH", f"/repos/{ORG}/new-name", json={"name": "taken"})
    assert taken.status_code == 422
    assert taken.json()["errors"][0]["message"] == "name already exists on this account"
    # A new repository under the old name ends the redirect.
    stranger = make_repo(gh, "old-name")
    assert gh("GET", f"/repos/{ORG}/old-name").json()["id"] == stranger["id"]


def test_get_protection_200_or_404_branch_not_protected(gh):
    make_repo(gh)
    path = f"/repos/{ORG}/algo/branches/main/protection"
    assert_github_error(gh("GET", path), 404, "Branch not protected")
    assert gh("PUT", path, json=PROTECTION).status_code == 200
    shown = gh("GET", path).json()
    assert shown["required_pull_request_reviews"]["required_approving_review_count"] == 1
    assert shown["allow_force_pushes"] == {"enabled": False}
    assert "restrictions" not in shown and "required_status_checks" not in shown
    assert_github_error(
        gh("GET", f"/repos/{ORG}/algo/branches/nope/protection"), 404, "Branch not found"
    )


# -- GitHub control endpoints ---------------------------------------------------------------------
def test_control_renames_publishes_unprotects_and_deletes_behind_the_apps_back(
    gh, sandbox_control, sandbox
):
    repo = make_repo(gh)
    gh("PUT", f"/repos/{ORG}/algo/branches/main/protection", json=PROTECTION)
    before = len(sandbox_control.requests())

    sandbox_control.remove_protection(f"{ORG}/algo", "main")
    public = sandbox_control.make_repo_public(f"{ORG}/algo")
    renamed = sandbox_control.rename_repo(f"{ORG}/algo", "algo-by-hand")

    assert public["private"] is False
    assert renamed["full_name"] == f"{ORG}/algo-by-hand" and renamed["id"] == repo["id"]
    assert sandbox_control.requests()[before:] == []  # nothing reached the platform's log
    shown = gh("GET", f"/repos/{ORG}/algo", allow_redirects=True).json()
    assert (shown["name"], shown["private"]) == ("algo-by-hand", False)
    protection = f"/repos/{ORG}/algo-by-hand/branches/main/protection"
    assert_github_error(gh("GET", protection), 404, "Branch not protected")
    archived = sandbox_control.edit_repo(f"{ORG}/algo-by-hand", archived=True, description="x")
    assert archived["archived"] is True and archived["description"] == "x"

    sandbox_control.delete_repo(f"{ORG}/algo-by-hand")
    assert_github_error(gh("GET", f"/repos/{ORG}/algo-by-hand"), 404, "Not Found")
    assert_github_error(gh("GET", f"/repos/{ORG}/algo"), 404, "Not Found")

    control = f"{sandbox.url}/_sandbox/github/repos/{ORG}"
    assert requests.delete(f"{control}/nope", timeout=5).status_code == 404
    assert requests.delete(f"{control}/nope/branches/main/protection", timeout=5).status_code == 404
    make_repo(gh, "other")
    make_repo(gh, "third")
    for bad in ({"name": "third"}, {"name": "not a name"}, {"private": "yes"}, {"owner": "x"}):
        answer = requests.patch(f"{control}/other", json=bad, timeout=5)
        assert answer.status_code == 400, (bad, answer.text)
        assert answer.json()["message"]
    unprotected = requests.delete(f"{control}/other/branches/main/protection", timeout=5)
    assert unprotected.status_code == 404
