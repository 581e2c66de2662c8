"""Unit tests of the transport both clients share: the retry of repeatable calls, reading the
platform's "try again in N seconds", and telling a platform that cannot be reached from a blip."""

from __future__ import annotations

import socket
from http.client import RemoteDisconnected

import pytest
import requests
from urllib3.exceptions import (
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
)

from integrations import transport
from integrations.errors import (
    PermanentError,
    PlatformUnreachableError,
    RateLimitedError,
    TransientError,
)
from integrations.transport import (
    Endpoint,
    call_repeating,
    connection_error,
    parse_reset_after,
    parse_retry_after,
    unreachable_reason,
)
from tests.integrations.helpers import closed_port

GITHUB = Endpoint("GitHub", "https://api.github.example", "GITHUB_API_URL")


class Calls:
    """A call that raises the given errors in turn, then answers "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def unreachable() -> PlatformUnreachableError:
    return PlatformUnreachableError("no answer", url="http://x", setting="X_URL")


def repeat(call: Calls, sleeps: list[float], *, repeatable: bool = True) -> str:
    return call_repeating(call, repeatable=repeatable, retries=2, delay=0.5, sleep=sleeps.append)


# -- call_repeating ----------------------------------------------------------------------------
def test_a_repeatable_call_is_repeated_after_a_transient_failure_with_backoff():
    sleeps: list[float] = []
    call = Calls(TransientError("502"), TransientError("503"))

    assert repeat(call, sleeps) == "ok"

    assert call.count == 3
    assert sleeps == [0.5, 1.0]


def test_the_last_transient_failure_is_raised_after_the_retries():
    sleeps: list[float] = []
    call = Calls(*(TransientError(f"try {n}") for n in range(3)))

    with pytest.raises(TransientError, match="try 2"):
        repeat(call, sleeps)

    assert call.count == 3
    assert sleeps == [0.5, 1.0]


def test_a_call_that_is_not_repeatable_is_made_once():
    sleeps: list[float] = []
    call = Calls(TransientError("500"))

    with pytest.raises(TransientError):
        repeat(call, sleeps, repeatable=False)

    assert call.count == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "error",
    [RateLimitedError("slow down", retry_after=30), PermanentError("403")],
    ids=["rate-limited", "permanent"],
)
def test_rate_limits_and_permanent_errors_are_not_repeated(error):
    sleeps: list[float] = []
    call = Calls(error)

    with pytest.raises(type(error)):
        repeat(call, sleeps)

    assert call.count == 1
    assert sleeps == []


def test_an_unreachable_platform_is_repeated_quickly_then_raised_as_permanent():
    sleeps: list[float] = []
    call = Calls(unreachable(), unreachable(), unreachable())

    with pytest.raises(PlatformUnreachableError) as raised:
        repeat(call, sleeps)

    assert raised.value.permanent is True
    assert call.count == 3
    assert sleeps == [0.5, 1.0]


def test_an_unreachable_platform_that_comes_back_answers():
    sleeps: list[float] = []

    assert repeat(Calls(unreachable()), sleeps) == "ok"
    assert sleeps == [0.5]


# -- parse_retry_after / parse_reset_after ---------------------------------------------------------
def test_retry_after_prefers_the_body_field_to_the_header():
    assert parse_retry_after({"Retry-After": "9"}, {"retry_after": 1.25}) == 1.25


def test_retry_after_reads_the_header_whatever_its_case():
    assert parse_retry_after({"Retry-After": "0.75"}, {"message": "x"}) == 0.75
    assert parse_retry_after({"retry-after": "30"}) == 30.0
    assert parse_retry_after({"retry-after": "30"}, ["a", "list", "body"]) == 30.0


def test_retry_after_is_none_when_the_platform_asked_for_no_wait():
    assert parse_retry_after({"x-ratelimit-remaining": "0"}, {}) is None


def test_retry_after_is_raised_to_the_minimum():
    assert parse_retry_after({"retry-after": "0"}, minimum=1.0) == 1.0
    assert parse_retry_after({}, {"retry_after": -2}) == 0.0


@pytest.mark.parametrize(
    ("headers", "body"),
    [({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None), ({}, {"retry_after": [1]})],
    ids=["http-date", "not-a-number"],
)
def test_an_unreadable_retry_after_is_a_value_error(headers, body):
    with pytest.raises(ValueError):
        parse_retry_after(headers, body)


def test_reset_after_counts_to_the_reset_when_the_budget_is_spent(monkeypatch):
    monkeypatch.setattr(transport.time, "time", lambda: 1_000.0)
    spent = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1100"}

    assert parse_reset_after(spent) == 100.0
    assert parse_reset_after({**spent, "X-RateLimit-Reset": "999"}, minimum=1.0) == 1.0


def test_reset_after_is_none_while_requests_remain():
    assert parse_reset_after({"x-ratelimit-remaining": "12", "x-ratelimit-reset": "1"}) is None
    assert parse_reset_after({"x-ratelimit-remaining": "0"}) is None


def test_an_unreadable_reset_is_a_value_error():
    with pytest.raises(ValueError):
        parse_reset_after({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "soon"})


# -- failed connections --------------------------------------------------------------------------
def refused_error() -> requests.ConnectionError:
    """The exception requests really raises for a refused connection."""
    with closed_port() as port, pytest.raises(requests.ConnectionError) as raised:
        requests.get(f"http://127.0.0.1:{port}/", timeout=5)
    return raised.value


def dns_error() -> requests.ConnectionError:
    """What requests raises when a name does not resolve, built without asking a resolver."""
    try:
        raise socket.gaierror(-2, "Name or service not known")
    except socket.gaierror as cause:
        try:
            raise NameResolutionError("platform.invalid", None, cause)  # type: ignore[arg-type]
        except NameResolutionError as reason:
            return requests.ConnectionError(MaxRetryError(None, "/x", reason))  # type: ignore[arg-type]


def test_a_refused_connection_is_unreachable():
    assert unreachable_reason(refused_error()) == "connection refused"


def test_a_name_that_does_not_resolve_is_unreachable():
    assert unreachable_reason(dns_error()) == "DNS lookup failed"


def test_a_connection_that_failed_otherwise_is_unreachable_without_a_known_reason():
    error = requests.ConnectionError(
        MaxRetryError(None, "/x", NewConnectionError(None, "failed"))  # type: ignore[arg-type]
    )
    assert unreachable_reason(error) == "no connection"


@pytest.mark.parametrize(
    "error",
    [
        requests.ConnectionError(ProtocolError("Connection aborted.", RemoteDisconnected("x"))),
        requests.ConnectionError("connection reset by peer"),
        requests.ReadTimeout("read timed out"),
    ],
    ids=["dropped", "reset", "read-timeout"],
)
def test_a_connection_lost_after_it_was_made_is_not_unreachable(error):
    assert unreachable_reason(error) is None


def test_connection_error_names_the_url_and_the_settings_in_sandbox_mode(settings):
    settings.INTEGRATIONS_MODE = "sandbox"

    endpoint = Endpoint("Discord", "http://127.0.0.1:8001/discord/api/v10", "DISCORD_API_URL")

    error = connection_error(refused_error(), endpoint, what="Discord GET /users/@me")

    assert isinstance(error, PlatformUnreachableError)
    assert error.permanent is True
    assert (error.url, error.setting, error.provider) == (
        "http://127.0.0.1:8001/discord/api/v10",
        "DISCORD_API_URL",
        "discord",
    )
    assert str(error) == (
        "Discord did not answer at http://127.0.0.1:8001/discord/api/v10 (connection refused): "
        "is the sandbox running? Check SANDBOX_URL / DISCORD_API_URL."
    )


def test_connection_error_names_only_the_api_setting_in_live_mode(settings):
    settings.INTEGRATIONS_MODE = "live"

    error = connection_error(dns_error(), GITHUB, what="GitHub: read repository org/x")

    assert isinstance(error, PlatformUnreachableError)
    assert str(error) == (
        "GitHub did not answer at https://api.github.example (DNS lookup failed): "
        "check GITHUB_API_URL and the network."
    )
    assert "SANDBOX_URL" not in str(error)


def test_connection_error_keeps_a_dropped_connection_transient():
    reset = requests.ConnectionError("connection reset by peer")

    error = connection_error(reset, GITHUB, what="GitHub: read repository org/x")

    assert type(error) is TransientError
    assert error.permanent is False
    assert error.provider == "github"
    assert str(error) == "GitHub: read repository org/x failed: ConnectionError"
