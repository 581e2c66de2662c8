"""A platform that does not answer fails the step at once, saying where it was looked for.

No minute of silent backoff: the client repeats a read twice quickly, then the step fails on its
first attempt with a message naming the URL and the setting to fix.
"""

from __future__ import annotations

import time

import pytest

from courses.models import Course
from tests.integrations.helpers import closed_port

pytestmark = pytest.mark.django_db

QUICK = 5.0  # seconds; a refused connection used to take about a minute of retries


def failed_step(course: Course) -> tuple[str, int, str]:
    course.refresh_from_db()
    assert course.status == Course.Status.FAILED
    [step] = course.steps.filter(status="FAILED")
    return step.name, step.attempts, step.last_error


@pytest.fixture
def port():
    with closed_port() as number:
        yield number


def test_discord_not_answering_fails_the_first_step_at_once(platforms, provision, settings, port):
    platforms.add_servers(1)
    settings.INTEGRATIONS_MODE = "sandbox"
    settings.DISCORD_API_URL = f"http://127.0.0.1:{port}/discord/api/v10"
    settings.INTEGRATIONS_SAFE_RETRY_DELAY = 0.5  # the production default: the time is real
    settings.PROVISIONING_RETRY_BASE_SECONDS = 5.0
    received = len(platforms.requests())
    started = time.monotonic()

    course = provision()

    assert time.monotonic() - started < QUICK
    name, attempts, error = failed_step(course)
    assert (name, attempts) == ("SETUP_DISCORD_SERVER", 1)
    assert error == (
        f"Discord did not answer at {settings.DISCORD_API_URL} (connection refused): "
        "is the sandbox running? Check SANDBOX_URL / DISCORD_API_URL."
    )
    assert len(platforms.requests()) == received  # nothing went to the sandbox's Discord


def test_github_not_answering_fails_its_first_step_at_once(platforms, provision, settings, port):
    platforms.add_servers(1)
    settings.INTEGRATIONS_MODE = "live"
    settings.GITHUB_API_URL = f"http://127.0.0.1:{port}/api/v3"
    settings.PROVISIONING_RETRY_BASE_SECONDS = 5.0
    started = time.monotonic()

    course = provision()

    assert time.monotonic() - started < QUICK
    name, attempts, error = failed_step(course)
    assert (name, attempts) == ("CREATE_GITHUB_REPO", 1)
    assert error == (
        f"GitHub did not answer at {settings.GITHUB_API_URL} (connection refused): "
        "check GITHUB_API_URL and the network."
    )
    assert course.steps.get(name="CREATE_DISCORD_CHANNELS").status == "COMPLETED"
