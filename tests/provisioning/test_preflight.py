"""`manage.py preflight` and the admin's home page: one line per check, ``ok`` or what to do."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from provisioning import preflight
from tests.conftest import ORG

pytestmark = pytest.mark.django_db

DOWN = "http://127.0.0.1:1"  # nothing listens on port 1: connection refused at once


@pytest.fixture(autouse=True)
def _no_cached_result():
    cache.delete(preflight.CACHE_KEY)
    yield
    cache.delete(preflight.CACHE_KEY)


def run(*args: str) -> tuple[str, bool]:
    """The command's output, and whether it exited 0."""
    out = StringIO()
    try:
        call_command("preflight", *args, stdout=out)
    except CommandError:
        return out.getvalue(), False
    return out.getvalue(), True


def lines(output: str) -> dict[str, str]:
    """``{check name: "status message"}`` from the plain output."""
    found = {}
    for line in output.splitlines():
        status, rest = line.split(maxsplit=1)
        name, message = rest.split("  ", 1)
        found[name.strip()] = f"{status} {message.strip()}"
    return found


@pytest.fixture
def ready(platforms, settings):
    settings.POOL_LOW_WATERMARK = 2
    platforms.add_servers(2)
    return platforms


def test_everything_ready_passes_with_one_line_per_check(ready):
    output, passed = run()

    assert passed
    checks = lines(output)
    assert list(checks) == [
        "Discord API",
        "Discord bot token",
        "Discord application id",
        "GitHub API",
        "GitHub token",
        "GitHub organization",
        "GitHub plan",
        "Discord server pool",
    ]
    assert all(value.startswith("ok ") for value in checks.values()), checks
    assert (
        checks["Discord bot token"]
        == "ok valid: the bot is Course Provisioner (100000000000000001)"
    )
    assert checks["GitHub organization"] == f"ok sandbox-user is an owner of {ORG}"
    assert checks["Discord server pool"] == "ok 2 available, 0 claimed (POOL_LOW_WATERMARK=2)"


def test_json_output(ready):
    output, passed = run("--json")

    report = json.loads(output)
    assert passed and report["passed"] is True
    assert report["checks"][0] == {
        "name": "Discord API",
        "status": "ok",
        "message": f"answers at {ready.sandbox.discord_api_url}",
    }


def test_checks_only_read(ready):
    before = len(ready.requests())
    run()
    sent = ready.requests()[before:]
    assert {entry["method"] for entry in sent} == {"GET"}
    assert {entry["route"] for entry in sent if entry["provider"] == "discord"} == {
        "/users/@me",
        "/applications/@me",
    }


def test_wrong_application_id_says_the_right_one(ready, settings):
    settings.DISCORD_APPLICATION_ID = "123456789012345678"

    output, passed = run()

    assert not passed
    assert lines(output)["Discord application id"] == (
        "fail DISCORD_APPLICATION_ID is 123456789012345678 but the bot's application is "
        "100000000000000001: set DISCORD_APPLICATION_ID=100000000000000001, or the invite links "
        "add another application"
    )


def test_missing_application_id(ready, settings):
    settings.DISCORD_APPLICATION_ID = ""
    settings.POOL_LOW_WATERMARK = 3  # the pool's hint has no invite link to give either

    checks = lines(run()[0])

    assert checks["Discord application id"].startswith(
        "fail set DISCORD_APPLICATION_ID=100000000000000001"
    )
    assert "set DISCORD_APPLICATION_ID to get it" in checks["Discord server pool"]


def test_bad_tokens(ready, settings):
    settings.DISCORD_BOT_TOKEN = "wrong"
    settings.GITHUB_TOKEN = "wrong"

    output, passed = run()

    checks = lines(output)
    assert not passed
    assert checks["Discord API"].startswith("ok ")
    assert checks["Discord bot token"].startswith("fail Discord rejected the bot token (401)")
    assert checks["Discord application id"] == "skipped needs a valid bot token"
    assert checks["GitHub token"].startswith("fail GitHub rejected the token (401")
    assert checks["GitHub organization"] == "skipped needs a valid token"


def test_a_platform_that_does_not_answer(ready, settings):
    settings.DISCORD_API_URL = f"{DOWN}/discord/api/v10"

    output, passed = run()

    checks = lines(output)
    assert not passed
    assert checks["Discord API"].startswith("fail ")
    assert f"{DOWN}/discord/api/v10" in checks["Discord API"]
    assert "DISCORD_API_URL" in checks["Discord API"]
    assert checks["Discord bot token"] == "skipped needs an answer from Discord"
    assert checks["GitHub plan"].startswith("ok team")


def test_free_plan_fails_with_what_to_do(platforms):
    platforms.control.reset()
    platforms.control.create_org(ORG, plan="free")
    platforms.add_servers(2)

    output, passed = run()

    assert not passed
    plan = lines(output)["GitHub plan"]
    assert plan.startswith(f"fail {ORG} is on the Free plan")
    assert "GitHub Team" in plan and "PROVISIONING_SKIP_UNAVAILABLE_PROTECTION=true" in plan


def test_free_plan_with_protection_skipped_warns_and_passes(platforms, settings):
    settings.PROVISIONING_SKIP_UNAVAILABLE_PROTECTION = True
    platforms.control.reset()
    platforms.control.create_org(ORG, plan="free")
    platforms.add_servers(2)

    output, passed = run()

    assert passed
    assert lines(output)["GitHub plan"].startswith(
        f"warn {ORG} is on the Free plan: repositories will be made without branch protection"
    )


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("member", f"fail sandbox-user is a member of {ORG}, not an owner: make it an owner"),
        ("none", f"fail sandbox-user is not a member of {ORG}, or {ORG} does not exist"),
    ],
)
def test_token_without_owner_rights(platforms, role, expected):
    platforms.control.reset()
    platforms.control.create_org(ORG, plan="team", role=role)
    platforms.add_servers(2)

    output, passed = run()

    checks = lines(output)
    assert not passed
    assert checks["GitHub organization"].startswith(expected)
    assert checks["GitHub plan"] == f"skipped only {ORG}'s owners can see its plan"


def test_missing_organization(platforms, settings):
    settings.GITHUB_ORG = "no-such-org"
    assert lines(run()[0])["GitHub organization"].startswith(
        "fail sandbox-user is not a member of no-such-org, or no-such-org does not exist"
    )


@pytest.mark.parametrize(
    ("servers", "watermark", "status", "passes"),
    [(0, 2, "fail", False), (1, 2, "warn", True), (2, 2, "ok", True), (0, 0, "ok", True)],
)
def test_pool_against_the_low_watermark(platforms, settings, servers, watermark, status, passes):
    settings.POOL_LOW_WATERMARK = watermark
    platforms.add_servers(servers) if servers else None

    output, passed = run()

    pool = lines(output)["Discord server pool"]
    assert pool.startswith(f"{status} {servers} available, 0 claimed")
    assert passed is passes
    if status != "ok":
        assert "discord_servers add GUILD_ID" in pool


# -- the admin's home page ------------------------------------------------------------------------
def test_admin_home_shows_the_checks_and_caches_them(ready, staff_client):
    home = reverse("admin:index")

    html = staff_client.get(home).content.decode()
    assert "Ready to provision" in html
    assert "Discord application id" in html and "GitHub plan" in html
    asked = len(ready.requests())

    staff_client.get(home)
    assert len(ready.requests()) == asked  # the cached result: no new call

    staff_client.get(home + "?preflight=again")  # a link cannot make it call the platforms
    assert len(ready.requests()) == asked

    again = staff_client.post(home, {"preflight": "again"})
    assert again.status_code == 200 and "Ready to provision" in again.content.decode()
    assert len(ready.requests()) > asked


def test_admin_home_hides_the_checks_from_staff_who_cannot_create_courses(ready, make_user):
    client = Client()
    client.force_login(make_user("reader", "courses.view_course"))

    html = client.get(reverse("admin:index")).content.decode()

    assert "to provision" not in html and "GitHub plan" not in html
    assert ready.requests() == []  # nothing asked of the platforms for them


def test_admin_home_loads_when_the_platforms_are_down(platforms, settings, staff_client):
    settings.DISCORD_API_URL = f"{DOWN}/discord/api/v10"
    settings.GITHUB_API_URL = f"{DOWN}/github/api/v3"

    response = staff_client.get(reverse("admin:index"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Not ready to provision" in html
    assert "DISCORD_API_URL" in html and "GITHUB_API_URL" in html


def test_admin_home_loads_when_a_check_crashes(ready, staff_client, monkeypatch):
    def crash():
        raise RuntimeError("boom")

    monkeypatch.setattr(preflight, "discord_server_counts", crash)

    response = staff_client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert "unexpected error: RuntimeError(&#x27;boom&#x27;)" in response.content.decode()
