"""The plan's call figures are what provisioning spends, measured in the sandbox; the estimate
is the booking of the shared rate limits."""

from __future__ import annotations

import pytest

from imports.costs import batch_estimate, paced_seconds
from imports.services import import_plan

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("row", "groups"),
    [("Algorithms,2026-fall,lecture,", 0), ("Networks,2026-fall,laboratory,A;B;C", 3)],
)
def test_figures_match_the_calls_made(platforms, provision, row, groups):
    platforms.add_servers(1)
    plan = import_plan(content=f"name,semester,type,groups\n{row}\n", format="csv")
    name, _, type, _ = row.split(",")
    course = provision(name=name, type=type.upper(), groups=tuple("ABC"[:groups]))
    assert course.status == "COMPLETED"
    calls = platforms.requests()
    github_writes = [c for c in calls if c["provider"] == "github" and c["method"] != "GET"]
    discord = [c for c in calls if c["provider"] == "discord"]
    assert plan.github_writes == len(github_writes)
    assert plan.discord_calls == len(discord)


def test_estimate_books_slots_like_the_shared_limits(settings):
    # 19 per 10 s, 0.5 s apart (the bench's budget): 400 writes need 210 s (docs/benchmarks.md).
    assert paced_seconds(count=400, windows=[(19, 10.0)], spacing=0.5) == 210.0
    settings.GITHUB_WRITE_BUDGET = "70/60,450/3600"
    settings.GITHUB_SECONDS_BETWEEN_WRITES = 0
    settings.DISCORD_GLOBAL_LIMIT = 45
    estimate = batch_estimate(github_writes=412, discord_calls=100)
    assert estimate.seconds == 300.0  # the 5th minute's window opens at 300 s for the last 62
    assert estimate.summary == "412 GitHub writes ≈ 5 min at 70/1 min, 450/1 h"
    # Discord binds when GitHub has little to do.
    estimate = batch_estimate(github_writes=5, discord_calls=451)
    assert estimate.seconds == 10.0 and estimate.summary.startswith("451 Discord calls")


def test_summary_names_the_windows_as_configured(settings):
    settings.GITHUB_WRITE_BUDGET = "20/10.5"
    settings.GITHUB_SECONDS_BETWEEN_WRITES = 0.4
    summary = batch_estimate(github_writes=980, discord_calls=0).summary
    assert summary.startswith("980 GitHub writes ≈ ") and summary.endswith(
        "at 20/10.5 s, 0.4 s apart"
    )
