"""A platform that does not answer at all fails the step at once, tells the operator which setting
to check, and gives back the pool server the run claimed for nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from audit.models import SystemEvent
from courses.models import Course
from provisioning.models import DiscordServer
from provisioning.services import provisioning_retry
from tests.integrations.helpers import closed_port

pytestmark = pytest.mark.django_db

UNREACHABLE = SystemEvent.Kind.PLATFORM_UNREACHABLE


@pytest.fixture
def dead_port() -> Iterator[int]:
    with closed_port() as port:
        yield port


def test_discord_unreachable_returns_the_pool_server_and_says_which_setting(
    platforms, provision, settings, dead_port
):
    [guild_id] = platforms.add_servers(1)
    settings.DISCORD_API_URL = f"http://127.0.0.1:{dead_port}/discord/api/v10"

    course = provision(name="Nowhere")

    assert course.status == Course.Status.FAILED
    step = course.steps.get(name="SETUP_DISCORD_SERVER")
    assert step.status == "FAILED" and step.attempts == 1
    assert "DISCORD_API_URL" in step.last_error
    event = SystemEvent.objects.get(kind=UNREACHABLE, course=course)
    assert event.severity == SystemEvent.Severity.ERROR
    assert event.data["setting"] == "DISCORD_API_URL"
    assert event.data["url"].startswith("http://127.0.0.1:")
    assert f"Discord server {guild_id} was returned to the pool" in event.message
    server = DiscordServer.objects.get(guild_id=guild_id)
    assert (server.status, server.course) == (DiscordServer.Status.AVAILABLE, None)
    assert course.discord_guild_id == ""


def test_after_an_unreachable_platform_a_retry_claims_a_server_again(
    platforms, provision, settings, django_capture_on_commit_callbacks, dead_port
):
    platforms.add_servers(1)
    sandbox_url = settings.DISCORD_API_URL
    settings.DISCORD_API_URL = f"http://127.0.0.1:{dead_port}/discord/api/v10"
    course = provision(name="Again")
    settings.DISCORD_API_URL = sandbox_url

    with django_capture_on_commit_callbacks(execute=True):
        provisioning_retry(course=course)

    course.refresh_from_db()
    assert course.status == Course.Status.COMPLETED
    assert DiscordServer.objects.get().course == course


def test_a_server_given_explicitly_stays_with_its_course(platforms, provision, settings, dead_port):
    guild = platforms.control.create_guild(name="Named")
    settings.DISCORD_API_URL = f"http://127.0.0.1:{dead_port}/discord/api/v10"

    course = provision(name="Explicit", discord_guild_id=guild["id"])

    assert course.status == Course.Status.FAILED
    assert course.discord_guild_id == guild["id"]
    assert "returned to the pool" not in SystemEvent.objects.get(kind=UNREACHABLE).message


def test_a_server_the_course_already_used_is_never_given_back(
    platforms, provision, settings, dead_port
):
    [guild_id] = platforms.add_servers(1)
    settings.GITHUB_API_URL = f"http://127.0.0.1:{dead_port}/github/api/v3"

    course = provision(name="Half made")  # Discord steps done, then GitHub does not answer

    assert course.status == Course.Status.FAILED
    assert course.steps.get(name="CREATE_GITHUB_REPO").status == "FAILED"
    event = SystemEvent.objects.get(kind=UNREACHABLE, course=course)
    assert event.data["setting"] == "GITHUB_API_URL"
    server = DiscordServer.objects.get(guild_id=guild_id)
    assert (server.status, server.course) == (DiscordServer.Status.CLAIMED, course)
    assert course.discord_guild_id == guild_id
