"""Fixtures shared by the whole suite: the sandbox served over real HTTP on loopback, clients
pointed at it, staff-made servers, and a helper that creates a course the way the API does and
runs it in-process."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from courses.models import Course
from courses.services import LabGroupInput, course_create
from integrations.ratelimit import _store_for
from provisioning.pool import discord_server_add
from sandbox.control_client import SandboxControl
from sandbox.server import RunningSandbox
from tests.helpers import ROOT

pytest_plugins = ["tests.admin_users"]


class ReadBesideRepositoryError(RuntimeError):
    """A test opened a file next to the clone: a fresh clone would not have it."""


_REPOSITORY = str(ROOT) + os.sep
_BESIDE = str(ROOT.parent).rstrip(os.sep) + os.sep
# Beside the clone but not beside it in spirit: the temporary directory and the interpreter's
# own files when they sit there, and, when the clone is in the home directory, its dot-folders
# (caches, configs). A temporary directory that holds the parent (a clone in /tmp/x/main) exempts
# nothing, so /tmp/x/shared is still refused; a clone directly in it (/tmp/main) cannot tell a
# neighbour from a temporary file, and the guard lets both be.
_ALLOWED = tuple(
    folder
    for folder in {
        str(Path(path).resolve()).rstrip(os.sep) + os.sep
        for path in (tempfile.gettempdir(), sys.prefix, sys.base_prefix, sys.exec_prefix)
    }
    if folder.startswith(_BESIDE)
)
_HOME = str(Path.home()).rstrip(os.sep) + os.sep
_guard_installed = False


def reading_beside_repository(path: str) -> bool:
    """Whether ``path`` lies in the clone's parent folder, outside the clone (a folder beside it,
    which a clone from the repository's host does not have)."""
    full = os.path.abspath(path)
    if not full.startswith(_BESIDE) or (full + os.sep).startswith(_REPOSITORY):
        return False
    if (full + os.sep).startswith(_ALLOWED):
        return False
    return not (_BESIDE == _HOME and full[len(_HOME) :].startswith("."))


def _refuse_reads_beside_repository(event: str, args: tuple[Any, ...]) -> None:
    if event != "open" or not isinstance(args[0], str | bytes | os.PathLike):
        return  # a file descriptor names no path
    path = os.fsdecode(args[0])
    if reading_beside_repository(path):
        raise ReadBesideRepositoryError(
            f"{os.path.abspath(path)} is beside the repository ({ROOT}), not in it: a clone alone "
            "would not have it. Copy what the test needs under tests/reference/."
        )


def pytest_configure(config: pytest.Config) -> None:
    # An audit hook cannot be removed, so it is added once per process however often the
    # suite is configured in it.
    global _guard_installed
    if not _guard_installed:
        sys.addaudithook(_refuse_reads_beside_repository)
        _guard_installed = True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``sqlite`` hold the embedded default (SQLite's locking, WAL): on another
    database they are deselected, not skipped, and ``make test`` runs them in a pass of their own
    on SQLite."""
    if connection.vendor == "sqlite":
        return
    kept = [item for item in items if item.get_closest_marker("sqlite") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


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
            # verify=False: some are made broken on purpose (no bot, missing permissions) for
            # the step to refuse; the pool's own check is tested in test_pool_commands.py.
            discord_server_add(guild_id=guild["id"], name=guild["name"], verify=False)
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
def on_commit(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    """``with on_commit():`` runs what a service enqueues, as after its commit (inline
    execution in tests)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


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
