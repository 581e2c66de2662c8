"""What a batch of courses costs on the platforms, and how long the configured budgets make it.

Calls per course are the figures measured by ``benchmarks/calls_per_course.py`` (docs/
benchmarks.md), which ``tests/imports/test_costs.py`` checks against the sandbox: a repository
is 5 GitHub writes (create, tree, commit, ref, protection); Discord takes 4 reads and 5 writes for
a lecture (server, channels), 5 reads and 1 + 2 per group writes for a laboratory (the rename,
a role and a channel per group).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings

from integrations.ratelimit import Window, earliest_slot

LECTURE = "LECTURE"
GITHUB_WRITES_PER_REPOSITORY = 5
DISCORD_LECTURE_CALLS = 9
DISCORD_LABORATORY_READS = 5
DISCORD_LABORATORY_WRITES_PER_GROUP = 2


def course_github_writes(*, type: str, groups: int) -> int:
    return GITHUB_WRITES_PER_REPOSITORY * (1 if type == LECTURE else groups)


def course_discord_calls(*, type: str, groups: int) -> int:
    if type == LECTURE:
        return DISCORD_LECTURE_CALLS
    return DISCORD_LABORATORY_READS + 1 + DISCORD_LABORATORY_WRITES_PER_GROUP * groups


@dataclass(frozen=True)
class Estimate:
    seconds: float
    summary: str  # "412 GitHub writes ≈ 6.9 min at 70/60s, 1 s apart"


def budget_windows(budget: str) -> list[Window]:
    """``70/60,450/3600`` as ``[(70, 60.0), (450, 3600.0)]`` (validated by config.env)."""
    windows = []
    for part in budget.split(","):
        limit, _, seconds = part.strip().partition("/")
        windows.append((int(limit), float(seconds)))
    return windows


def paced_seconds(*, count: int, windows: list[Window], spacing: float = 0.0) -> float:
    """When the last of ``count`` calls may go, the first at 0: the slots the shared rate limits
    would book (``integrations.ratelimit.earliest_slot``) with nothing else spending them."""
    booked: list[float] = []
    for _ in range(count):
        booked.append(earliest_slot(booked, 0.0, windows, spacing))
    return booked[-1] if booked else 0.0


def batch_estimate(*, github_writes: int, discord_calls: int) -> Estimate:
    """The time the batch needs at least under ``GITHUB_WRITE_BUDGET`` (and
    ``GITHUB_SECONDS_BETWEEN_WRITES``) and ``DISCORD_GLOBAL_LIMIT``, whichever binds: with no
    other course spending the budgets meanwhile, and not counting the platforms' latency."""
    windows = budget_windows(settings.GITHUB_WRITE_BUDGET)
    spacing = float(settings.GITHUB_SECONDS_BETWEEN_WRITES)
    github = paced_seconds(count=github_writes, windows=windows, spacing=spacing)
    discord_limit = int(settings.DISCORD_GLOBAL_LIMIT)
    discord = paced_seconds(count=discord_calls, windows=[(discord_limit, 1.0)])
    if github >= discord:
        rate = ", ".join(f"{limit}/{_window(seconds)}" for limit, seconds in windows)
        apart = f", {spacing:g} s apart" if spacing else ""
        summary = f"{github_writes} GitHub writes ≈ {_duration(github)} at {rate}{apart}"
    else:
        summary = f"{discord_calls} Discord calls ≈ {_duration(discord)} at {discord_limit}/s"
    return Estimate(seconds=round(max(github, discord), 1), summary=summary)


def _window(seconds: float) -> str:
    """A budget's window as written: ``1 min``, ``1 h``, ``10.5 s``."""
    for unit, length in (("h", 3600), ("min", 60)):
        if seconds >= length and seconds % length == 0:
            return f"{seconds / length:g} {unit}"
    return f"{seconds:g} s"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h".replace(".0 h", " h")
    if seconds >= 60:
        return f"{seconds / 60:.1f} min".replace(".0 min", " min")
    return f"{math.ceil(seconds)} s" if seconds else "0 s"
