"""A platform that does not answer: both clients fail within seconds, saying where they knocked.

Real sockets, no fake: a loopback port that refuses connections, and the clients' production
retry settings (two quick repeats, 0.5 s then 1 s apart), so the time measured is the real one.
"""

from __future__ import annotations

import time

import pytest

from integrations.discord.client import DiscordClient
from integrations.errors import PlatformUnreachableError
from integrations.github.client import GitHubClient
from tests.integrations.helpers import audit_rows, closed_port

pytestmark = pytest.mark.django_db

QUICK = 5.0  # seconds: the old behaviour took a minute of backoff before anything was said


@pytest.fixture
def port():
    with closed_port() as number:
        yield number


def test_discord_on_a_closed_port_fails_fast_naming_url_and_settings(port, settings):
    settings.INTEGRATIONS_MODE = "sandbox"
    api_url = f"http://127.0.0.1:{port}/discord/api/v10"
    client = DiscordClient(api_url=api_url, token="t")
    started = time.monotonic()

    with pytest.raises(PlatformUnreachableError) as raised:
        client.get_guild("111111111111111111")

    assert time.monotonic() - started < QUICK
    error = raised.value
    assert error.permanent is True
    assert (error.url, error.setting, error.provider) == (api_url, "DISCORD_API_URL", "discord")
    assert str(error) == (
        f"Discord did not answer at {api_url} (connection refused): is the sandbox running? "
        "Check SANDBOX_URL / DISCORD_API_URL."
    )
    # A GET is repeated twice (a blip?), then given up; every try is audited.
    rows = audit_rows()
    assert len(rows) == 3
    assert all(row.response_status is None and "refused" in row.error for row in rows)


def test_discord_write_on_a_closed_port_is_not_repeated(port):
    client = DiscordClient(api_url=f"http://127.0.0.1:{port}/api/v10", token="t")

    with pytest.raises(PlatformUnreachableError):
        client.create_role("111111111111111111", name="Group 1")

    assert len(audit_rows()) == 1


def test_github_on_a_closed_port_fails_fast_naming_url_and_settings(port, settings):
    settings.INTEGRATIONS_MODE = "live"
    api_url = f"http://127.0.0.1:{port}/api/v3"
    client = GitHubClient(api_url=api_url, token="t", org="org", seconds_between_writes=0)
    started = time.monotonic()

    with pytest.raises(PlatformUnreachableError) as raised:
        client.get_repo("2026-fall-algorithms")

    assert time.monotonic() - started < QUICK
    error = raised.value
    assert error.permanent is True
    assert (error.url, error.setting, error.provider) == (api_url, "GITHUB_API_URL", "github")
    assert str(error) == (
        f"GitHub did not answer at {api_url} (connection refused): "
        "check GITHUB_API_URL and the network."
    )
    assert len(audit_rows()) == 3


def test_github_create_on_a_closed_port_is_not_repeated(port):
    client = GitHubClient(
        api_url=f"http://127.0.0.1:{port}/api/v3", token="t", org="org", seconds_between_writes=0
    )

    with pytest.raises(PlatformUnreachableError):
        client.create_repo("2026-fall-algorithms", description="x")

    assert len(audit_rows()) == 1
