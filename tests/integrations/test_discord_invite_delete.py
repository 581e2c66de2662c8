"""``DiscordClient.delete_invite``: what goes on the wire, "already gone" as a success, repeats
after a transient failure, error typing; then the same call against the sandbox over HTTP.

The unit tests answer HTTP with ``responses``; nothing sleeps.
"""

from __future__ import annotations

import pytest

from integrations.discord.client import DiscordClient
from integrations.errors import NotFoundError, PermanentError
from sandbox.discord.schema import validate_request_body_with_spec
from tests.helpers import REFERENCE
from tests.integrations.helpers import audit_rows

pytestmark = pytest.mark.django_db

DISCORD = "https://discord.test/api/v10"
CODE = "aB3xYz9Q"
SPEC = REFERENCE / "discord-openapi.json"


def error(code: int, message: str) -> dict:
    return {"message": message, "code": code}


def invite_json(code: str = CODE) -> dict:
    return {"type": 0, "code": code, "channel": {"id": "333333333333333333", "type": 0}}


@pytest.fixture
def discord(monkeypatch: pytest.MonkeyPatch) -> DiscordClient:
    monkeypatch.setattr("integrations.discord.client.time.sleep", lambda seconds: None)
    return DiscordClient(
        api_url=DISCORD, token="secret-bot-token", max_wait=1.0, safe_retries=2, safe_retry_delay=0
    )


def test_delete_invite_is_one_audited_delete_of_the_documented_route(mocked, discord):
    mocked.delete(f"{DISCORD}/invites/{CODE}", json=invite_json())

    assert discord.delete_invite(CODE, reason="Roster sync link replaced") is True

    (sent,) = mocked.calls
    assert sent.request.method == "DELETE"
    assert sent.request.body is None  # Discord's invite_revoke takes no body
    assert sent.request.headers["X-Audit-Log-Reason"] == "Roster sync link replaced"
    (row,) = audit_rows()
    assert (row.provider, row.method, row.route) == ("discord", "DELETE", "/invites/{code}")
    assert row.response_status == 200
    # The route and its bodiless request are Discord's own (the official description).
    assert validate_request_body_with_spec(SPEC, "DELETE", "/invites/{code}", None) == []


def test_an_unknown_invite_means_already_gone(mocked, discord):
    mocked.delete(f"{DISCORD}/invites/{CODE}", status=404, json=error(10006, "Unknown Invite"))

    assert discord.delete_invite(CODE) is False

    assert len(mocked.calls) == 1
    assert [row.response_status for row in audit_rows()] == [404]


def test_any_other_not_found_is_raised(mocked, discord):
    """Not "Unknown Invite" (here a wrong base URL's bare 404): the link may well be alive."""
    mocked.delete(f"{DISCORD}/invites/{CODE}", status=404, json=error(0, "404: Not Found"))

    with pytest.raises(NotFoundError) as raised:
        discord.delete_invite(CODE)

    assert raised.value.code == 0


def test_missing_permissions_is_permanent_and_not_repeated(mocked, discord):
    mocked.delete(f"{DISCORD}/invites/{CODE}", status=403, json=error(50013, "Missing Permissions"))

    with pytest.raises(PermanentError) as raised:
        discord.delete_invite(CODE)

    assert (raised.value.status, raised.value.code) == (403, 50013)
    assert len(mocked.calls) == 1


@pytest.mark.parametrize(
    ("then", "deleted"),
    [
        ({"json": invite_json()}, True),
        # The first attempt deleted it and its answer was lost: the repeat finds it gone.
        ({"status": 404, "json": error(10006, "Unknown Invite")}, False),
    ],
)
def test_a_delete_is_repeated_after_a_5xx(mocked, discord, then, deleted):
    url = f"{DISCORD}/invites/{CODE}"
    mocked.delete(url, status=502, body="Bad Gateway")
    mocked.delete(url, **then)

    assert discord.delete_invite(CODE) is deleted

    assert [row.response_status for row in audit_rows()] == [502, then.get("status", 200)]


# -- against the sandbox, over HTTP ---------------------------------------------------------------
@pytest.fixture
def live(sandbox) -> DiscordClient:
    return DiscordClient(
        api_url=sandbox.discord_api_url, token="sandbox-discord-token", safe_retry_delay=0
    )


def test_a_deleted_link_lets_nobody_in_and_deleting_it_again_is_false(live, sandbox_control):
    guild = sandbox_control.create_guild("Algorithms")["id"]
    role = live.create_role(guild, name="Group 1")["id"]
    channel = live.create_channel(guild, name="group-1")["id"]
    old = live.create_invite(channel, role_ids=[role])
    kept = live.create_invite(channel, role_ids=[role])

    assert live.delete_invite(old["code"], reason="replaced") is True
    assert live.delete_invite(old["code"]) is False

    assert [i["code"] for i in live.list_guild_invites(guild)] == [kept["code"]]
    with pytest.raises(RuntimeError, match="404"):
        sandbox_control.accept_discord_invite(old["code"], "late-student")
    assert len(audit_rows()) == len(sandbox_control.requests())
