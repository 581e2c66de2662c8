"""The job row of a run that died with its process (SIGKILL, a lost machine) does not read
RUNNING forever: the sweep that takes the course over closes it as CRASHED."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from courses.models import Course
from provisioning.models import JobExecution
from provisioning.recovery import courses_recover
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db


def test_the_dead_runs_job_is_closed_as_crashed_and_a_fresh_one_is_left(settings, monkeypatch):
    monkeypatch.setattr("provisioning.recovery.provisioning_send", lambda **kwargs: None)
    settings.PROVISIONING_LEASE_SECONDS = 60
    long_ago = timezone.now() - timedelta(minutes=10)
    course = CourseFactory.create(
        status=Course.Status.IN_PROGRESS, run_token=uuid.uuid4(), heartbeat_at=long_ago
    )
    dead = JobExecution.objects.create(course=course, task_id="killed")
    JobExecution.objects.filter(id=dead.id).update(started_at=long_ago)
    fresh = JobExecution.objects.create(course=course, task_id="just-started")

    assert courses_recover() == [course.id]

    dead.refresh_from_db()
    assert dead.outcome == JobExecution.Outcome.CRASHED
    assert dead.finished_at is not None and "stopped answering" in dead.error
    fresh.refresh_from_db()
    assert fresh.outcome == JobExecution.Outcome.RUNNING
