"""Unit tests of the Discord client: headers, rate limits, error typing, audit rows, request bodies.

HTTP is answered by ``responses``; the client module's clock is a fake whose ``sleep`` records the
wait and moves the clock on, so rate-limit waits are exact and cost no time.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests
import responses

import integrations.discord.client as discord_client
import sandbox.discord.names as sandbox_names
from audit.context import audit_scope
from integrations import ratelimit
from integrations.discord import names, permissions
from integrations.discord.client import DiscordClient
from integrations.errors import (
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from sandbox.discord.schema import validate_request_body_with_spec
from tests.factories import CourseFactory
from tests.helpers import REFERENCE
from tests.integrations.helpers import assert_secret_absent, audit_rows

API = "https://discord.test/api/v10"
TOKEN = "secret-bot-token"
GUILD = "111111111111111111"
OTHER_GUILD = "222222222222222222"
CHANNEL = "333333333333333333"
ROLE = "444444444444444444"
SPEC = REFERENCE / "discord-openapi.json"

pytestmark = pytest.mark.django_db


class FakeClock:
    """Stands in for the client module's ``time``: a sleep is recorded and moves the clock on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_700_000_000.0 + self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(discord_client, "time", fake)
    monkeypatch.setattr(ratelimit, "time", fake)  # the shared limits' clock too
    return fake


@pytest.fixture
def client(clock: FakeClock) -> DiscordClient:
    return DiscordClient(api_url=API, token=TOKEN, max_wait=1.0, safe_retries=2, safe_retry_delay=0)


def channel(guild_id: str = GUILD, name: str = "general") -> dict:
    return {"id": CHANNEL, "guild_id": guild_id, "name": name, "type": 0}


def sent_json(call: responses.Call) -> object:
    return json.loads(call.request.body or b"")  # typed optional; a sent write has a body


# -- what goes on the wire --------------------------------------------------------------------
def test_sends_bot_token_user_agent_reason_and_json_body(mocked, client):
    mocked.post(f"{API}/guilds/{GUILD}/channels", json=channel(name="qa-help"), status=201)
    reason = "Kurs Übung 1/2: Kanäle & Rollen"

    result = client.create_channel(GUILD, name="QA Help", topic="Fragen", reason=reason)

    assert result == channel(name="qa-help")
    (call,) = mocked.calls
    headers = call.request.headers
    assert call.request.url == f"{API}/guilds/{GUILD}/channels"
    assert headers["Authorization"] == f"Bot {TOKEN}"
    assert headers["User-Agent"].startswith("DiscordBot (")
    assert headers["Content-Type"] == "application/json"
    assert sent_json(call) == {"name": "QA Help", "type": 0, "topic": "Fragen"}
    # URL-encoded: plain ASCII on the wire, decoding gives the reason back.
    encoded = headers["X-Audit-Log-Reason"]
    assert encoded.isascii()
    assert "%C3%9C" in encoded  # Ü
    assert "/" not in encoded and "&" not in encoded
    assert unquote(encoded) == reason


def test_no_audit_log_reason_header_without_a_reason(mocked, client):
    mocked.get(f"{API}/guilds/{GUILD}", json={"id": GUILD, "name": "Staff"})

    assert client.get_guild(GUILD) == {"id": GUILD, "name": "Staff"}

    (call,) = mocked.calls
    assert "X-Audit-Log-Reason" not in call.request.headers
    assert call.request.body is None


def test_paths_are_built_from_route_templates_with_quoted_params(mocked, client):
    mocked.get(f"{API}/users/@me", json={"id": "1", "username": "bot"})
    mocked.get(f"{API}/guilds/{GUILD}/members/555", json={"roles": []})
    mocked.put(f"{API}/channels/{CHANNEL}/permissions/{ROLE}", status=204)
    mocked.get(f"{API}/guilds/..%2F..%2Fusers%2F@me", status=404, json={"code": 10004})

    assert client.get_current_user()["username"] == "bot"
    assert client.get_member(GUILD, "555") == {"roles": []}
    assert client.edit_channel_permission(CHANNEL, ROLE, type=0, allow=68608, deny=0) is None
    # A parameter cannot escape its path segment.
    with pytest.raises(NotFoundError):
        client.get_guild("../../users/@me")

    assert [row.route for row in audit_rows()] == [
        "/users/@me",
        "/guilds/{guild_id}/members/{user_id}",
        "/channels/{channel_id}/permissions/{overwrite_id}",
        "/guilds/{guild_id}",
    ]


# -- 429 and rate-limit buckets ---------------------------------------------------------------
def test_429_waits_retry_after_then_resends(mocked, client, clock):
    url = f"{API}/guilds/{GUILD}/channels"
    mocked.post(url, status=429, json={"message": "limited", "retry_after": 0.25, "global": False})
    mocked.post(url, status=201, json=channel())

    assert client.create_channel(GUILD, name="general") == channel()

    assert clock.sleeps == [0.25]
    assert len(mocked.calls) == 2
    assert [row.response_status for row in audit_rows()] == [429, 201]


def test_429_longer_than_max_wait_raises_without_resending(mocked, client, clock):
    mocked.get(
        f"{API}/guilds/{GUILD}/roles",
        status=429,
        json={"message": "limited", "retry_after": 7.5, "global": False},
    )

    with pytest.raises(RateLimitedError) as raised:
        client.list_roles(GUILD)

    assert raised.value.retry_after == 7.5
    assert raised.value.status == 429
    assert raised.value.permanent is False
    assert len(mocked.calls) == 1
    assert clock.sleeps == []
    assert len(audit_rows()) == 1


def test_429_retry_after_header_used_when_the_body_has_none(mocked, client, clock):
    url = f"{API}/guilds/{GUILD}"
    mocked.get(url, status=429, body="", headers={"Retry-After": "0.75"})
    mocked.get(url, json={"id": GUILD})

    assert client.get_guild(GUILD) == {"id": GUILD}
    assert clock.sleeps == [0.75]


def test_global_429_blocks_the_next_call_for_retry_after(mocked, client, clock):
    mocked.get(
        f"{API}/guilds/{GUILD}",
        status=429,
        json={"message": "global", "retry_after": 5.0, "global": True},
        headers={"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"},
    )
    with pytest.raises(RateLimitedError) as first:
        client.get_guild(GUILD)
    assert first.value.retry_after == 5.0

    # Another route, another guild: still blocked, and nothing is sent.
    with pytest.raises(RateLimitedError) as blocked:
        client.list_channels(OTHER_GUILD)
    assert blocked.value.retry_after == pytest.approx(5.0)
    assert len(mocked.calls) == 1

    # 4.5 s later the remaining 0.5 s is waited, then the call goes out.
    clock.now += 4.5
    mocked.get(f"{API}/guilds/{OTHER_GUILD}/channels", json=[])
    assert client.list_channels(OTHER_GUILD) == []
    assert clock.sleeps == [pytest.approx(0.5)]
    assert len(mocked.calls) == 2


def test_empty_bucket_makes_the_next_call_on_that_route_and_major_parameter_wait(
    mocked, client, clock
):
    dry = {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset-After": "0.5",
        "X-RateLimit-Bucket": "abcd1234",
    }
    mocked.get(f"{API}/guilds/{GUILD}/channels", json=[], headers=dry)
    mocked.get(f"{API}/guilds/{OTHER_GUILD}/channels", json=[])
    mocked.get(f"{API}/guilds/{GUILD}/channels", json=[])

    client.list_channels(GUILD)
    assert clock.sleeps == []

    client.list_channels(OTHER_GUILD)  # another major parameter: its own bucket
    assert clock.sleeps == []

    client.list_channels(GUILD)
    assert clock.sleeps == [pytest.approx(0.5)]
    assert len(mocked.calls) == 3


def test_bucket_with_requests_left_does_not_wait(mocked, client, clock):
    left = {
        "X-RateLimit-Remaining": "1",
        "X-RateLimit-Reset-After": "0.5",
        "X-RateLimit-Bucket": "abcd1234",
    }
    mocked.get(f"{API}/guilds/{GUILD}/channels", json=[], headers=left)
    mocked.get(f"{API}/guilds/{GUILD}/channels", json=[])

    client.list_channels(GUILD)
    client.list_channels(GUILD)

    assert clock.sleeps == []


def test_bucket_empty_for_longer_than_max_wait_raises_without_sending(mocked, client, clock):
    dry = {
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset-After": "20",
        "X-RateLimit-Bucket": "abcd1234",
    }
    mocked.get(f"{API}/guilds/{GUILD}/roles", json=[], headers=dry)
    client.list_roles(GUILD)

    with pytest.raises(RateLimitedError) as raised:
        client.list_roles(GUILD)

    assert raised.value.retry_after == pytest.approx(20.0)
    assert len(mocked.calls) == 1
    assert clock.sleeps == []


# -- failures: what is retried, and how errors are typed ---------------------------------------
def test_5xx_on_get_is_retried_up_to_safe_retries_then_transient(mocked, clock):
    client = DiscordClient(
        api_url=API, token=TOKEN, max_wait=1.0, safe_retries=2, safe_retry_delay=0.5
    )
    for _ in range(3):
        mocked.get(f"{API}/guilds/{GUILD}/channels", status=502, body="Bad Gateway")

    with pytest.raises(TransientError) as raised:
        client.list_channels(GUILD)

    assert raised.value.status == 502
    assert raised.value.permanent is False
    assert len(mocked.calls) == 3  # the first try and safe_retries=2 repeats
    assert clock.sleeps == [0.5, 1.0]  # exponential backoff
    assert [row.response_status for row in audit_rows()] == [502, 502, 502]


def test_5xx_on_get_then_success_returns_the_answer(mocked, client):
    url = f"{API}/guilds/{GUILD}"
    mocked.get(url, status=503, body="")
    mocked.get(url, json={"id": GUILD})

    assert client.get_guild(GUILD) == {"id": GUILD}
    assert len(mocked.calls) == 2


@pytest.mark.parametrize(
    ("method", "route", "call"),
    [
        ("POST", "/guilds/{GUILD}/channels", lambda c: c.create_channel(GUILD, name="x1")),
        ("POST", "/guilds/{GUILD}/roles", lambda c: c.create_role(GUILD, name="Group 1")),
        ("PATCH", "/guilds/{GUILD}", lambda c: c.rename_guild(GUILD, "Algorithms")),
    ],
)
def test_5xx_on_a_write_that_is_not_idempotent_is_not_resent(
    mocked, client, clock, method, route, call
):
    mocked.add(method, API + route.format(GUILD=GUILD), status=500, json={"message": "oops"})

    with pytest.raises(TransientError) as raised:
        call(client)

    assert raised.value.status == 500
    assert len(mocked.calls) == 1
    assert clock.sleeps == []


def test_connection_error_is_transient_and_audited_without_status(mocked, client):
    mocked.post(
        f"{API}/guilds/{GUILD}/roles",
        body=requests.ConnectionError("connection reset by peer"),
    )

    with pytest.raises(TransientError) as raised:
        client.create_role(GUILD, name="Group 1")

    assert not isinstance(raised.value, RateLimitedError)
    assert len(mocked.calls) == 1
    (row,) = audit_rows()
    assert row.response_status is None
    assert "ConnectionError" in row.error
    assert "connection reset by peer" in row.error
    assert row.route == "/guilds/{guild_id}/roles"


def test_401_is_permanent_and_names_the_setting(mocked, client):
    mocked.get(f"{API}/users/@me", status=401, json={"message": "401: Unauthorized", "code": 0})

    with pytest.raises(PermanentError) as raised:
        client.get_current_user()

    assert "DISCORD_BOT_TOKEN" in raised.value.message
    assert raised.value.status == 401
    assert raised.value.permanent is True
    assert len(mocked.calls) == 1  # a GET, but a permanent failure is not repeated


def test_403_missing_permissions_is_permanent_with_the_code(mocked, client):
    mocked.put(
        f"{API}/channels/{CHANNEL}/permissions/{ROLE}",
        status=403,
        json={"message": "Missing Permissions", "code": 50013},
    )

    with pytest.raises(PermanentError) as raised:
        client.edit_channel_permission(CHANNEL, ROLE, type=0, allow=68608, deny=0)

    assert raised.value.code == 50013
    assert raised.value.status == 403
    assert raised.value.permanent is True
    assert "Missing Permissions" in raised.value.message
    assert len(mocked.calls) == 1


def test_404_is_not_found(mocked, client):
    mocked.get(
        f"{API}/guilds/{GUILD}", status=404, json={"message": "Unknown Guild", "code": 10004}
    )

    with pytest.raises(NotFoundError) as raised:
        client.get_guild(GUILD)

    assert raised.value.code == 10004
    assert raised.value.permanent is True
    assert len(mocked.calls) == 1


def test_400_invalid_form_body_is_permanent_and_shows_the_errors(mocked, client):
    mocked.post(
        f"{API}/guilds/{GUILD}/channels",
        status=400,
        json={
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": {"parent_id": {"_errors": [{"code": "CHANNEL_PARENT_MAX_CHANNELS"}]}},
        },
    )

    with pytest.raises(PermanentError) as raised:
        client.create_channel(GUILD, name="x", parent_id=CHANNEL)

    assert not isinstance(raised.value, TransientError)
    assert raised.value.permanent is True
    assert raised.value.code == 50035
    assert "CHANNEL_PARENT_MAX_CHANNELS" in raised.value.message


@pytest.mark.parametrize("code", [20028, 20029, 130000])
def test_400_with_a_write_rate_limit_code_is_transient(mocked, client, code):
    mocked.post(
        f"{API}/guilds/{GUILD}/channels",
        status=400,
        json={"message": "You are being rate limited.", "code": code},
    )

    with pytest.raises(TransientError) as raised:
        client.create_channel(GUILD, name="x")

    assert raised.value.permanent is False
    assert raised.value.code == code
    assert len(mocked.calls) == 1


# -- the audit trail --------------------------------------------------------------------------
def test_each_request_is_one_audit_row_in_the_audit_scope(mocked, client, clock):
    course = CourseFactory()
    overwrites = [{"id": GUILD, "type": 0, "allow": 0, "deny": 1024}]

    def slow_answer(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        clock.now += 0.25  # Discord takes 250 ms to answer
        return 201, {}, json.dumps(channel())

    mocked.add_callback(responses.POST, f"{API}/guilds/{GUILD}/channels", callback=slow_answer)
    mocked.get(f"{API}/guilds/{GUILD}/roles", json=[{"id": GUILD, "permissions": "0"}])

    with audit_scope(course_id=course.pk, step="X", attempt=2, task_id="t"):
        client.create_channel(GUILD, name="general", permission_overwrites=overwrites)
        client.list_roles(GUILD)

    first, second = audit_rows()
    assert first.provider == "discord"
    assert first.method == "POST"
    assert first.route == "/guilds/{guild_id}/channels"
    assert first.url == f"{API}/guilds/{GUILD}/channels"
    assert first.request_body == {
        "name": "general",
        "type": 0,
        "permission_overwrites": overwrites,
    }
    assert first.response_status == 201
    assert json.loads(first.response_excerpt) == channel()
    assert first.duration_ms == 250  # the exchange's time, not the clock's
    assert second.duration_ms == 0  # answered at once
    assert first.error == ""
    for row in (first, second):
        assert row.course_id == course.pk
        assert row.step == "X"
        assert row.attempt == 2
        assert row.task_id == "t"
    assert (second.method, second.route, second.request_body) == (
        "GET",
        "/guilds/{guild_id}/roles",
        None,
    )


def test_audit_rows_outside_a_scope_carry_no_course(mocked, client):
    mocked.get(f"{API}/users/@me", json={"id": "1"})

    client.get_current_user()

    (row,) = audit_rows()
    assert (row.course_id, row.step, row.attempt, row.task_id) == (None, "", None, "")


def test_bot_token_never_reaches_the_audit_trail(mocked, client, settings):
    settings.DISCORD_BOT_TOKEN = TOKEN
    mocked.get(f"{API}/users/@me", json={"id": "1", "echo": f"Bot {TOKEN}"})
    mocked.post(
        f"{API}/guilds/{GUILD}/channels",
        status=400,
        json={"message": f"bad token {TOKEN}", "code": 50035},
    )
    mocked.post(f"{API}/guilds/{GUILD}/roles", body=requests.ConnectionError(f"reset {TOKEN}"))

    client.get_current_user()
    with pytest.raises(PermanentError):
        client.create_channel(GUILD, name="x", topic=f"topic {TOKEN}")
    with pytest.raises(TransientError):
        client.create_role(GUILD, name=TOKEN)

    # The token did go out (in the header), and was echoed back: the audit trail hides it.
    assert all(call.request.headers["Authorization"] == f"Bot {TOKEN}" for call in mocked.calls)
    assert TOKEN in mocked.calls[0].response.text
    assert len(audit_rows()) == 3
    assert_secret_absent(TOKEN)
    assert "[REDACTED]" in audit_rows()[0].response_excerpt


# -- request bodies against Discord's official OpenAPI description -----------------------------
def test_every_request_body_validates_against_the_official_spec(mocked, client):
    mocked.post(f"{API}/guilds/{GUILD}/channels", json=channel(), status=201)
    mocked.post(f"{API}/guilds/{GUILD}/channels", json=channel(), status=201)
    mocked.post(f"{API}/guilds/{GUILD}/roles", json={"id": ROLE, "name": "Group 1"})
    mocked.patch(f"{API}/guilds/{GUILD}", json={"id": GUILD, "name": "Algorithms 2026"})
    mocked.put(f"{API}/channels/{CHANNEL}/permissions/{ROLE}", status=204)
    bot_member = "100000000000000001"
    overwrites = [
        {"id": GUILD, "type": 0, "allow": 0, "deny": permissions.VIEW_CHANNEL},
        {"id": ROLE, "type": 0, "allow": permissions.CHANNEL_MEMBER, "deny": 0},
        {"id": bot_member, "type": 1, "allow": permissions.CHANNEL_MEMBER, "deny": 0},
    ]

    category = client.create_channel(GUILD, name="Group 1", type=4, reason="provisioning")
    client.create_channel(
        GUILD,
        name="group-1",
        topic="Lab group 1",
        parent_id=category["id"],
        permission_overwrites=overwrites,
        reason="provisioning",
    )
    client.create_role(GUILD, name="Group 1", permissions=0, mentionable=True)
    client.rename_guild(GUILD, "Algorithms 2026")
    client.edit_channel_permission(CHANNEL, ROLE, type=0, allow=permissions.CHANNEL_MEMBER, deny=0)

    rows = audit_rows()
    assert len(rows) == 5
    for row, call in zip(rows, mocked.calls, strict=True):
        body = sent_json(call)
        assert body == row.request_body
        assert validate_request_body_with_spec(SPEC, row.method, row.route, body) == [], row.route
    assert {(row.method, row.route) for row in rows} == {
        ("POST", "/guilds/{guild_id}/channels"),
        ("POST", "/guilds/{guild_id}/roles"),
        ("PATCH", "/guilds/{guild_id}"),
        ("PUT", "/channels/{channel_id}/permissions/{overwrite_id}"),
    }
    # The check itself has teeth: a body off the spec is reported.
    assert validate_request_body_with_spec(
        SPEC, "POST", "/guilds/{guild_id}/roles", {"name": "x", "permissions": "zero"}
    )


# -- permissions ------------------------------------------------------------------------------
def test_permissions_of_sums_everyone_and_member_roles():
    roles = [
        {"id": GUILD, "permissions": str(permissions.VIEW_CHANNEL)},  # @everyone
        {"id": "10", "permissions": str(permissions.MANAGE_CHANNELS)},
        {"id": "11", "permissions": str(permissions.MANAGE_ROLES)},
        {"id": "12", "permissions": str(permissions.MANAGE_GUILD)},  # the member lacks it
    ]

    value = permissions.permissions_of(["10", "11"], roles, GUILD)

    assert value == (
        permissions.VIEW_CHANNEL | permissions.MANAGE_CHANNELS | permissions.MANAGE_ROLES
    )
    # @everyone counts even for a member without roles.
    assert permissions.permissions_of([], roles, GUILD) == permissions.VIEW_CHANNEL


def test_administrator_implies_every_permission():
    roles = [
        {"id": GUILD, "permissions": "0"},
        {"id": "10", "permissions": str(permissions.ADMINISTRATOR)},
    ]

    value = permissions.permissions_of(["10"], roles, GUILD)

    assert value & permissions.REQUIRED_BOT_PERMISSIONS == permissions.REQUIRED_BOT_PERMISSIONS
    assert permissions.missing_permissions(value) == []


def test_missing_permissions_names_what_is_lacking():
    have = permissions.REQUIRED_BOT_PERMISSIONS & ~(
        permissions.MANAGE_ROLES | permissions.SEND_MESSAGES
    )

    assert permissions.missing_permissions(have) == ["SEND_MESSAGES", "MANAGE_ROLES"]
    assert permissions.missing_permissions(permissions.REQUIRED_BOT_PERMISSIONS) == []
    assert permissions.CHANNEL_MEMBER == 68608


def test_bot_invite_url_asks_for_the_required_permissions_in_one_server():
    url = permissions.bot_invite_url("987654321", GUILD)

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "discord.com", "/oauth2/authorize")
    assert query == {
        "client_id": ["987654321"],
        "scope": ["bot"],
        "permissions": [str(permissions.REQUIRED_BOT_PERMISSIONS)],
        "guild_id": [GUILD],
        "disable_guild_select": ["true"],
    }
    without_guild = parse_qs(urlsplit(permissions.bot_invite_url("987654321")).query)
    assert "guild_id" not in without_guild
    assert "disable_guild_select" not in without_guild


# -- channel names ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("asked", "stored"),
    [
        ("QA Help!!", "qa-help"),
        ("  Übung -- Gruppe 3 ", "übung-gruppe-3"),
        ("Tab\there", "tab-here"),
        ("x" * 101, "x" * 100),
    ],
)
def test_normalize_channel_name(asked, stored):
    assert names.normalize_channel_name(asked) == stored


def test_the_sandbox_normalizes_with_the_very_same_function():
    assert sandbox_names.normalize_channel_name is names.normalize_channel_name


def test_429s_until_the_resends_run_out_raise_without_a_last_useless_wait(mocked, client, clock):
    url = f"{API}/guilds/{GUILD}/channels"
    for _ in range(discord_client.MAX_429_RESENDS + 1):
        mocked.get(url, status=429, json={"message": "limited", "retry_after": 0.5})

    with pytest.raises(RateLimitedError) as raised:
        client.list_channels(GUILD)

    assert raised.value.retry_after == 0.5
    assert len(mocked.calls) == discord_client.MAX_429_RESENDS + 1
    # One wait between two sends; none after the last 429, since the caller waits retry_after
    # again before it tries (the error tells it to).
    assert clock.sleeps == [0.5] * discord_client.MAX_429_RESENDS
