"""Scheduled verify: only due courses (live, completed, idle, not archived, last checked more than
VERIFY_INTERVAL_HOURS ago), oldest-checked first, at most VERIFY_BATCH_PER_TICK per tick; 0 hours
is off."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from config.celery import schedule_recovery
from courses.models import Course
from provisioning import sweeper
from provisioning.models import DriftReport, Operation
from provisioning.schedule import courses_due_for_verify, courses_verify_due
from provisioning.sweeper import verify_tick_once
from provisioning.tasks import verify_due_courses
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _course(
    *, checked_hours_ago: float | None, created_hours_ago: float = 1000, **fields
) -> Course:
    course = CourseFactory.create(**{"status": Course.Status.COMPLETED, **fields})
    Course.objects.filter(id=course.id).update(created_at=NOW - timedelta(hours=created_hours_ago))
    if checked_hours_ago is not None:
        DriftReport.objects.create(
            course=course, checked_at=NOW - timedelta(hours=checked_hours_ago + 100)
        )  # an older report: only the latest counts
        DriftReport.objects.create(
            course=course, checked_at=NOW - timedelta(hours=checked_hours_ago)
        )
    course.refresh_from_db()
    return course


@pytest.fixture
def verify_settings(settings):
    settings.VERIFY_INTERVAL_HOURS = 24
    settings.VERIFY_BATCH_PER_TICK = 20
    return settings


def test_only_due_courses_are_picked_oldest_checked_first(verify_settings):
    stale = _course(checked_hours_ago=30)
    staler = _course(checked_hours_ago=50)
    never = _course(checked_hours_ago=None, created_hours_ago=40)  # counts from its creation
    _course(checked_hours_ago=2)  # fresh
    _course(checked_hours_ago=None, created_hours_ago=3)  # new, not due before a full interval
    _course(checked_hours_ago=30, status=Course.Status.FAILED)
    _course(checked_hours_ago=30, status=Course.Status.IN_PROGRESS)
    _course(checked_hours_ago=30, deleted_at=NOW)  # torn down
    _course(checked_hours_ago=30, archived_at=NOW)  # read-only by design
    claimed = _course(checked_hours_ago=30)
    Course.objects.filter(id=claimed.id).update(run_token="00000000-0000-0000-0000-000000000001")

    due = courses_due_for_verify(now=NOW)

    assert [c.id for c in due] == [staler.id, never.id, stale.id]


def test_a_tick_starts_at_most_the_batch_and_skips_busy_courses(verify_settings):
    verify_settings.VERIFY_BATCH_PER_TICK = 2
    oldest = _course(checked_hours_ago=90)
    busy = _course(checked_hours_ago=80)
    Operation.objects.create(course=busy, kind=Operation.Kind.RENAME)  # pending: refused
    middle = _course(checked_hours_ago=70)
    newest = _course(checked_hours_ago=60)

    started = courses_verify_due(now=NOW)

    # The busy course used one of the two places; it is tried again at a later tick.
    assert started == [oldest.id]
    assert set(Operation.objects.filter(kind="VERIFY").values_list("course_id", flat=True)) == {
        oldest.id
    }
    assert Course.objects.get(id=oldest.id).status == Course.Status.PENDING
    # The next tick: the one started is busy (no longer COMPLETED), the others come in order.
    assert [c.id for c in courses_due_for_verify(now=NOW)] == [busy.id, middle.id]
    assert newest.id not in courses_verify_due(now=NOW)


def test_zero_hours_turns_the_schedule_off(verify_settings):
    verify_settings.VERIFY_INTERVAL_HOURS = 0
    _course(checked_hours_ago=1000)

    assert courses_due_for_verify(now=NOW) == []
    assert courses_verify_due(now=NOW) == []
    assert not Operation.objects.filter(kind="VERIFY").exists()


def test_beat_schedules_the_tick_unless_off(verify_settings):
    def scheduled() -> dict[str, tuple[float, str]]:
        sender = mock.Mock(wraps=celery_app)
        sender.add_periodic_task = mock.Mock()
        schedule_recovery(sender)
        return {
            c.kwargs["name"]: (c.args[0], c.args[1]["task"])
            for c in sender.add_periodic_task.call_args_list
        }

    verify_settings.VERIFY_SWEEP_SECONDS = 120
    assert scheduled()["verify due courses"] == (120, "provisioning.tasks.verify_due_courses")
    verify_settings.VERIFY_INTERVAL_HOURS = 0
    assert "verify due courses" not in scheduled()


def test_the_task_runs_the_tick(verify_settings):
    due = _course(checked_hours_ago=48)

    assert verify_due_courses() == 1
    assert Operation.objects.get(kind="VERIFY").course_id == due.id


def test_the_in_process_tick_never_raises(verify_settings, monkeypatch):
    """The sweeper thread ticks the schedule too; a failing tick must not end the thread."""
    monkeypatch.setattr(sweeper.connections, "close_all", lambda: None)  # the test's connection
    due = _course(checked_hours_ago=48)
    assert verify_tick_once() == 1
    assert Operation.objects.get(kind="VERIFY").course_id == due.id

    def broken(**kwargs: object) -> list[object]:
        raise RuntimeError("database gone")

    monkeypatch.setattr(sweeper, "courses_verify_due", broken)
    assert verify_tick_once() == 0
