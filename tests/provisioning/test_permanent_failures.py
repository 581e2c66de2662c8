"""What only an operator can fix fails at once (one attempt) with a message saying what to do."""

from __future__ import annotations

import pytest
from github import Auth, Github

from courses.models import Course
from provisioning.services import provisioning_retry
from tests.conftest import ORG

pytestmark = pytest.mark.django_db


def failed(course: Course) -> tuple[str, int, str]:
    course.refresh_from_db()
    assert course.status == Course.Status.FAILED
    [step] = course.steps.filter(status="FAILED")
    return step.name, step.attempts, step.last_error


def test_bot_missing_permissions_names_them_and_the_invite_link(platforms, provision):
    platforms.add_servers(1, permissions=str(1 << 4 | 1 << 10))  # MANAGE_CHANNELS, VIEW only
    course = provision()

    name, attempts, error = failed(course)
    assert (name, attempts) == ("SETUP_DISCORD_SERVER", 1)
    assert "MANAGE_ROLES" in error
    assert "MANAGE_GUILD" in error
    assert "https://discord.com/oauth2/authorize?client_id=" in error


def test_bot_not_in_the_given_server(platforms, provision):
    guild = platforms.control.create_guild(name="No bot here", bot_member=False)
    course = provision(discord_guild_id=guild["id"])

    name, attempts, error = failed(course)
    assert (name, attempts) == ("SETUP_DISCORD_SERVER", 1)
    assert "not in Discord server" in error
    assert "oauth2/authorize" in error


def test_empty_pool_says_how_to_add_a_server(platforms, provision):
    course = provision()

    name, attempts, error = failed(course)
    assert (name, attempts) == ("SETUP_DISCORD_SERVER", 1)
    assert "No Discord server is available" in error
    assert "discord_servers add" in error


def test_free_plan_protection_fails_with_the_fix(platforms, provision):
    platforms.control.reset()
    platforms.control.create_org(ORG, plan="free")
    platforms.add_servers(1)
    course = provision()

    name, attempts, error = failed(course)
    assert (name, attempts) == ("APPLY_BRANCH_PROTECTION", 1)
    assert "GitHub Team" in error
    assert "PROVISIONING_SKIP_UNAVAILABLE_PROTECTION" in error


def test_free_plan_protection_can_be_skipped_by_the_operator(platforms, provision, settings):
    settings.PROVISIONING_SKIP_UNAVAILABLE_PROTECTION = True
    platforms.control.reset()
    platforms.control.create_org(ORG, plan="free")
    platforms.add_servers(1)
    course = provision(type="LABORATORY", groups=("A",))

    assert course.status == Course.Status.COMPLETED
    step = course.steps.get(name="APPLY_GROUP_BRANCH_PROTECTIONS")
    assert step.status == "SKIPPED"
    assert "Upgrade to GitHub Pro" in step.last_error


def test_repository_name_owned_by_a_stranger_is_a_conflict(platforms, provision):
    stranger = Github(
        auth=Auth.Token("sandbox-github-token"), base_url=platforms.sandbox.github_api_url
    )
    stranger.get_organization(ORG).create_repo("2026-fall-algorithms", description="Not yours")
    platforms.add_servers(1)
    course = provision(name="Algorithms")

    name, attempts, error = failed(course)
    assert (name, attempts) == ("CREATE_GITHUB_REPO", 1)
    assert "already exists and is not this course's" in error


@pytest.mark.parametrize(
    ("setting", "step", "hint"),
    [
        ("DISCORD_BOT_TOKEN", "SETUP_DISCORD_SERVER", "DISCORD_BOT_TOKEN"),
        ("GITHUB_TOKEN", "CREATE_GITHUB_REPO", "GITHUB_TOKEN"),
    ],
)
def test_bad_credentials_fail_at_once(platforms, provision, settings, setting, step, hint):
    platforms.add_servers(1)
    setattr(settings, setting, "not-the-token")
    course = provision()

    name, attempts, error = failed(course)
    assert (name, attempts) == (step, 1)
    assert hint in error


def test_retry_after_the_fix_runs_only_what_failed(
    platforms, provision, django_capture_on_commit_callbacks
):
    course = provision()  # the pool is empty: fails at the first step
    assert course.status == Course.Status.FAILED
    platforms.add_servers(1)

    with django_capture_on_commit_callbacks(execute=True):
        provisioning_retry(course=course)

    course.refresh_from_db()
    assert course.status == Course.Status.COMPLETED
    attempts = dict(course.steps.values_list("name", "attempts"))
    assert attempts["SETUP_DISCORD_SERVER"] == 2
    assert attempts["APPLY_BRANCH_PROTECTION"] == 1
