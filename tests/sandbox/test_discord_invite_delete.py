"""``DELETE /invites/{code}`` on the fake Discord, over HTTP: 200 with the invite as it was, 404
Unknown Invite (10006) for a code it does not know, MANAGE_CHANNELS or MANAGE_GUILD needed."""

from __future__ import annotations

import pytest

from sandbox.discord import permissions as perms
from tests.sandbox.test_discord_api import Bot, assert_error

VIEW = perms.VIEW_CHANNEL | perms.CREATE_INSTANT_INVITE  # enough to make an invite on #general


@pytest.fixture
def bot(sandbox) -> Bot:
    return Bot(sandbox.discord_api_url)


def _invite_in(bot: Bot, sandbox_control, permissions: int) -> tuple[str, str]:
    """A staff-made server (Discord's template channels) where the bot has ``permissions``, and
    an invite the bot made on its #general."""
    guild = sandbox_control.create_guild(
        "Algorithms", permissions=permissions, default_channels=True
    )
    general = next(c for c in guild["channels"] if c["name"] == "general")
    made = bot("POST", f"/channels/{general['id']}/invites", json={"max_age": 0, "unique": True})
    assert made.status_code == 200, made.text
    return guild["id"], made.json()["code"]


def test_delete_answers_the_invite_and_it_is_gone(bot, sandbox_control):
    guild = sandbox_control.create_guild("Algorithms")["id"]
    channel = bot("POST", f"/guilds/{guild}/channels", json={"name": "group-1"}).json()["id"]
    role = bot("POST", f"/guilds/{guild}/roles", json={"name": "Group 1"}).json()["id"]
    body = {"max_age": 0, "max_uses": 0, "unique": True, "role_ids": [role]}
    code = bot("POST", f"/channels/{channel}/invites", json=body).json()["code"]

    deleted = bot("DELETE", f"/invites/{code}", headers={"X-Audit-Log-Reason": "replaced"})

    assert deleted.status_code == 200, deleted.text
    answer = deleted.json()
    assert answer["code"] == code and answer["channel"]["id"] == channel
    assert [r["id"] for r in answer["roles"]] == [role]
    assert deleted.headers["X-RateLimit-Bucket"]
    assert bot("GET", f"/guilds/{guild}/invites").json() == []
    state = sandbox_control.state()["discord"]
    assert state["guilds"][guild]["invites"] == []
    assert state["counters"]["invites_deleted"] == 1
    [entry] = [e for e in state["guilds"][guild]["audit_log"] if e["action"] == "INVITE_DELETE"]
    assert (entry["target_id"], entry["reason"]) == (code, "replaced")
    with pytest.raises(RuntimeError, match="404"):
        sandbox_control.accept_discord_invite(code, "late-student")
    # Again: Discord no longer knows the code.
    assert_error(bot("DELETE", f"/invites/{code}"), 404, 10006)


@pytest.mark.parametrize("code", ["nOtAcOdE", "12345678"])
def test_an_unknown_code_is_unknown_invite_not_a_form_error(bot, sandbox_control, code):
    sandbox_control.create_guild("Algorithms")  # the bot is in a server, with no such invite
    assert_error(bot("DELETE", f"/invites/{code}"), 404, 10006)


def test_manage_channels_or_manage_guild_is_needed(bot, sandbox_control):
    guild, code = _invite_in(bot, sandbox_control, VIEW)
    assert_error(bot("DELETE", f"/invites/{code}"), 403, 50013)
    assert len(sandbox_control.state()["discord"]["guilds"][guild]["invites"]) == 1  # kept
    for enough in (perms.MANAGE_CHANNELS, perms.MANAGE_GUILD):
        _, code = _invite_in(bot, sandbox_control, VIEW | enough)
        assert bot("DELETE", f"/invites/{code}").status_code == 200


def test_a_server_the_bot_left_is_missing_permissions(bot, sandbox_control):
    guild, code = _invite_in(bot, sandbox_control, VIEW | perms.MANAGE_GUILD)
    sandbox_control.remove_bot(guild)
    assert_error(bot("DELETE", f"/invites/{code}"), 403, 50013)
