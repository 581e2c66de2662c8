"""Assertions on the sandbox's state shared by provisioning tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from config.celery import app as celery_app

SEEDED_FILES = {
    "README.md",
    "syllabus.md",
    "CONTRIBUTING.md",
    ".github/pull_request_template.md",
    "assignments/ASSIGNMENT_TEMPLATE.md",
}


def assert_no_duplicates(state: dict[str, Any]) -> None:
    """No server has two channels or two roles of one name; no repository has two seed commits."""
    for guild in state["discord"]["guilds"].values():
        channels = Counter((c["name"], c["type"]) for c in guild["channels"])
        roles = Counter(r["name"] for r in guild["roles"])
        assert [k for k, n in channels.items() if n > 1] == [], guild["name"]
        assert [k for k, n in roles.items() if n > 1] == [], guild["name"]
    for name, repo in state["github"]["repos"].items():
        assert repo["commits"] == 2, f"{name}: the initial commit and one seed commit"


def guild_of(state: dict[str, Any], course: Any) -> dict[str, Any]:
    return state["discord"]["guilds"][course.discord_guild_id]


def channel_named(guild: dict[str, Any], name: str) -> dict[str, Any]:
    [channel] = [c for c in guild["channels"] if c["name"] == name]
    return channel


def overwrites_of(channel: dict[str, Any]) -> set[tuple[str, int, str, str]]:
    return {
        (o["id"], int(o["type"]), str(o["allow"]), str(o["deny"]))
        for o in channel["permission_overwrites"]
    }


@contextmanager
def celery_conf(**values: Any) -> Iterator[None]:
    """Override the Celery app's configuration (Django's names: ``CELERY_TASK_ALWAYS_EAGER``) for
    a while, then drop the override: a value merely set back would shadow Django's settings for
    every later test (``settings.CELERY_TASK_ALWAYS_EAGER = False`` would no longer count)."""
    changes = celery_app.conf.changes
    assert changes is not None  # the app is configured by the time a test runs
    saved = {key: changes[key] for key in values if key in changes}
    changes.update(values)
    try:
        yield
    finally:
        for key in values:
            changes.pop(key, None)
        changes.update(saved)
