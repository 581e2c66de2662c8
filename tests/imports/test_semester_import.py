"""Issue 14's must-show: 200 courses with 7 planted bad rows, planned then applied."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses.models import Course
from imports.models import Import, ImportRow
from imports.services import import_apply, import_plan
from tests.factories import CourseFactory
from tests.imports.helpers import BAD_ROWS, EXISTING, semester_csv

pytestmark = pytest.mark.django_db

WRITE_SQL = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def test_plan_then_apply_two_hundred_courses(
    platforms, settings, django_capture_on_commit_callbacks
):
    settings.GITHUB_WRITE_BUDGET = "70/60,450/3600"  # the defaults, for the estimate
    settings.DISCORD_GLOBAL_LIMIT = 45
    CourseFactory(name=EXISTING, semester="2026-fall")
    platforms.add_servers(150)
    content = semester_csv()
    log_before = len(platforms.requests())

    with CaptureQueriesContext(connection) as queries:
        plan = import_plan(content=content, format="csv")

    # Exactly the planted rows, each on its line with the field at fault.
    assert {(e["line"], e["field"]) for e in plan.errors} == {
        (line, field) for line, (_, field) in BAD_ROWS.items()
    }
    assert len(plan.errors) == 7
    reasons = {e["line"]: e["reason"] for e in plan.errors}
    assert "Line 13 already takes the GitHub repository 2026-fall-course-0012" in reasons[150]
    assert "already exists" in reasons[199]
    assert "lab groups" in reasons[88]
    data = plan.as_dict()
    assert data["validRows"] == 193
    assert (data["serversNeeded"], data["serversAvailable"], data["serversShortfall"]) == (
        193,
        150,
        43,
    )
    # 190 lectures x 5 + 3 laboratories x 2 groups x 5; Discord: 190 x 9 + 3 x (6 + 2 x 2).
    assert data["githubWrites"] == 980
    assert data["discordCalls"] == 1740
    # The hour's 450 writes bind: write 900 comes 2 h after the first, the last 80 over a minute.
    assert data["estimatedSeconds"] == 7260.0
    assert data["estimate"] == "980 GitHub writes ≈ 2 h at 70/1 min, 450/1 h"
    # It wrote nothing and called nobody.
    assert not [q["sql"] for q in queries.captured_queries if WRITE_SQL.match(q["sql"])]
    assert len(platforms.requests()) == log_before
    assert Course.objects.count() == 1 and not Import.objects.exists()

    platforms.add_servers(43)
    # Pacing is not what this applies: the sandbox enforces no limit here.
    settings.GITHUB_WRITE_BUDGET = "100000/60"
    settings.DISCORD_GLOBAL_LIMIT = 100000
    with django_capture_on_commit_callbacks(execute=True):
        record = import_apply(content=content, format="csv")

    record.refresh_from_db()
    assert record.status == Import.Status.COMPLETED
    assert record.finished_at is not None
    created = record.rows.filter(outcome=ImportRow.Outcome.CREATED)
    assert created.count() == 193
    assert set(created.values_list("course__status", flat=True)) == {Course.Status.COMPLETED}
    invalid = record.rows.filter(outcome=ImportRow.Outcome.INVALID)
    assert sorted(invalid.values_list("line", flat=True)) == sorted(BAD_ROWS)
    assert Course.objects.filter(status=Course.Status.COMPLETED).count() == 193
