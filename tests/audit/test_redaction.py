"""Secrets never reach the audit trail: secret-looking keys and configured tokens are replaced."""

from __future__ import annotations

import copy

import pytest

from audit.models import AuditLog, SystemEvent
from audit.redaction import REDACTED, redact, redact_text
from audit.services import audit_log_record, system_event_record

DISCORD_TOKEN = "discord-bot-token-123"
GITHUB_TOKEN = "ghp_githubtoken456"
API_KEY = "bootstrap-api-key-789"


@pytest.fixture(autouse=True)
def tokens(settings):
    settings.DISCORD_BOT_TOKEN = DISCORD_TOKEN
    settings.GITHUB_TOKEN = GITHUB_TOKEN
    settings.API_KEY = API_KEY


@pytest.mark.parametrize(
    "key",
    [
        "token",
        "access_token",
        "Authorization",
        "client_secret",
        "PASSWORD",
        "api_key",
        "api-key",
        "apiKey",
        "x-api-key",
        "private_key",
    ],
)
def test_secret_looking_keys_are_replaced_whatever_their_value(key):
    assert redact({key: "anything at all", "name": "general"}) == {
        key: REDACTED,
        "name": "general",
    }
    assert redact({key: {"nested": 1}}) == {key: REDACTED}  # the whole value goes


@pytest.mark.parametrize("key", ["name", "topic", "permissions", "description", "private"])
def test_other_keys_are_kept(key):
    assert redact({key: "value"}) == {key: "value"}


@pytest.mark.parametrize("secret", [DISCORD_TOKEN, GITHUB_TOKEN, API_KEY])
def test_configured_secrets_are_scrubbed_from_text(secret):
    url = f"https://api.test/repos?access={secret}&page=2"
    assert redact_text(url) == f"https://api.test/repos?access={REDACTED}&page=2"
    error = f"ConnectionError('Bearer {secret} refused'); again {secret}"
    assert redact_text(error) == f"ConnectionError('Bearer {REDACTED} refused'); again {REDACTED}"


def test_text_without_secrets_is_unchanged():
    assert redact_text("POST /guilds/1/channels 201") == "POST /guilds/1/channels 201"


def test_empty_and_very_short_settings_scrub_nothing(settings):
    # An unset token must not turn every empty string, and a 1-letter one every letter, into
    # [REDACTED]: only values of 6 characters or more count.
    settings.DISCORD_BOT_TOKEN = ""
    settings.GITHUB_TOKEN = "abc"
    settings.API_KEY = ""
    assert redact_text("abc def abc") == "abc def abc"
    assert redact({"topic": ""}) == {"topic": ""}


def test_nested_structures_are_redacted_at_every_level_without_touching_the_original():
    body = {
        "name": "general",
        "permission_overwrites": [{"id": "1", "allow": 1024, "deny": 0, "secret": "s3cr3t!"}],
        "meta": {
            "note": f"made with {GITHUB_TOKEN}",
            "headers": {"Authorization": f"Bot {DISCORD_TOKEN}", "Accept": "application/json"},
            "list": [[f"deep {API_KEY}"], None, True, 3.5],
        },
    }
    original = copy.deepcopy(body)

    assert redact(body) == {
        "name": "general",
        "permission_overwrites": [{"id": "1", "allow": 1024, "deny": 0, "secret": REDACTED}],
        "meta": {
            "note": f"made with {REDACTED}",
            "headers": {"Authorization": REDACTED, "Accept": "application/json"},
            "list": [[f"deep {REDACTED}"], None, True, 3.5],
        },
    }
    assert body == original


@pytest.mark.parametrize("value", [None, 0, 42, 1.5, True, False])
def test_scalars_pass_through(value):
    assert redact(value) is value


@pytest.mark.django_db
def test_an_audit_row_holds_no_secret_in_its_url_body_excerpt_or_error():
    audit_log_record(
        provider="github",
        method="post",
        route="/orgs/{org}/repos",
        url=f"https://api.test/orgs/uni/repos?token={GITHUB_TOKEN}",
        request_body={"name": "algo", "description": f"by {DISCORD_TOKEN}", "token": "x"},
        response_status=401,
        response_text=f'{{"message": "Bad credentials {GITHUB_TOKEN}"}}',
        duration_ms=12.4,
        error=f"HTTPError('401 for {GITHUB_TOKEN}')",
    )

    row = AuditLog.objects.get()
    stored = [row.url, str(row.request_body), row.response_excerpt, row.error]
    assert not any(secret in text for text in stored for secret in (GITHUB_TOKEN, DISCORD_TOKEN))
    assert row.request_body == {"name": "algo", "description": f"by {REDACTED}", "token": REDACTED}
    assert row.url.endswith(f"token={REDACTED}")
    assert REDACTED in row.response_excerpt and REDACTED in row.error


@pytest.mark.django_db
def test_a_system_event_holds_no_secret_in_its_message_or_data():
    event = system_event_record(
        kind=SystemEvent.Kind.RATE_LIMITED,
        message=f"GitHub refused {GITHUB_TOKEN}",
        detail={"api_key": API_KEY, "url": f"https://x.test/?k={API_KEY}"},
    )

    assert event.message == f"GitHub refused {REDACTED}"
    assert event.data == {"detail": {"api_key": REDACTED, "url": f"https://x.test/?k={REDACTED}"}}
