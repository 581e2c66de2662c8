"""Fixtures shared by the whole suite: the sandbox served over real HTTP on loopback, clients
pointed at it, staff-made servers, and a helper that creates a course the way the API does and
runs it in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from courses.models import Course
from courses.services import LabGroupInput, course_create
from integrations.ratelimit import _store_for
from provisioning.pool import discord_server_add
from sandbox.control_client import SandboxControl
from sandbox.server import RunningSandbox

pytest_plugins = ["tests.admin_users"]


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Each test starts with no bucket, pause or booking left by another."""
    _store_for.cache_clear()
    yield
    _store_for.cache_clear()


@pytest.fixture(scope="session")
def running_sandbox() -> Iterator[RunningSandbox]:
    with RunningSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(running_sandbox: RunningSandbox) -> RunningSandbox:
    """The sandbox, reset to empty before the test."""
    running_sandbox.sandbox.reset()
    return running_sandbox


@pytest.fixture
def sandbox_control(sandbox: RunningSandbox) -> SandboxControl:
    return SandboxControl(sandbox.url)


ORG = "test-university"


@dataclass
class Platforms:
    sandbox: RunningSandbox
    control: SandboxControl

    def add_servers(self, count: int = 1, **options: Any) -> list[str]:
        """Play staff: create servers with the bot in them and register them in the pool."""
        ids = []
        for number in range(count):
            guild = self.control.create_guild(name=f"Staff server {number}", **options)
            discord_server_add(guild_id=guild["id"], name=guild["name"])
            ids.append(guild["id"])
        return ids

    def requests(self, provider: str | None = None) -> list[dict[str, Any]]:
        log = self.control.requests()
        return [entry for entry in log if provider in (None, entry["provider"])]

    def state(self) -> dict[str, Any]:
        return self.control.state()


@pytest.fixture
def platforms(sandbox, sandbox_control, settings) -> Platforms:
    settings.DISCORD_API_URL = sandbox.discord_api_url
    settings.GITHUB_API_URL = sandbox.github_api_url
    settings.DISCORD_BOT_TOKEN = "sandbox-discord-token"
    settings.GITHUB_TOKEN = "sandbox-github-token"
    settings.GITHUB_ORG = ORG
    settings.GITHUB_SECONDS_BETWEEN_WRITES = 0
    settings.PROVISIONING_RETRY_BASE_SECONDS = 0.001
    settings.INTEGRATIONS_SAFE_RETRY_DELAY = 0.001
    sandbox_control.create_org(ORG, plan="team")
    return Platforms(sandbox=sandbox, control=sandbox_control)


@pytest.fixture
def provision(django_capture_on_commit_callbacks) -> Callable[..., Course]:
    """Create a course through the service and let its (eager) task run, as after a commit."""

    def create(
        name: str = "Algorithms",
        type: str = "LECTURE",
        groups: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> Course:
        with django_capture_on_commit_callbacks(execute=True):
            course = course_create(
                name=name,
                semester=kwargs.pop("semester", "2026-fall"),
                type=type,
                lab_groups=[LabGroupInput(name=g, number=i) for i, g in enumerate(groups, 1)],
                **kwargs,
            )
        course.refresh_from_db()
        return course

    return create
