"""A real Celery worker on Redis and PostgreSQL, killed with SIGKILL in the middle of a run."""

from __future__ import annotations

import time

import pytest

from courses.models import Course
from courses.services import LabGroupInput, course_create
from provisioning.models import ExternalResource, JobExecution
from tests.e2e.conftest import wait_for
from tests.provisioning.helpers import SEEDED_FILES, assert_no_duplicates

pytestmark = pytest.mark.e2e


def test_course_completes_after_its_worker_is_killed_mid_run(worker, platforms):
    platforms.add_servers(1)
    platforms.control.set_faults(latency_ms=120)  # slow enough to be caught mid-run

    course = course_create(
        name="Killed Lab",
        semester="2026-fall",
        type=Course.Type.LABORATORY,
        lab_groups=[LabGroupInput(name=f"G{n}", number=n) for n in range(1, 4)],
    )

    def mid_run() -> bool:
        return ExternalResource.objects.filter(course=course).count() >= 4

    wait_for(mid_run, 60, "the run to be half-way", worker)
    worker.kill()
    course.refresh_from_db()
    assert course.status == Course.Status.IN_PROGRESS
    time.sleep(5)  # past the visibility timeout: the restarted worker gets the message back
    worker.start()

    def settled() -> bool:
        course.refresh_from_db()
        return course.status in Course.TERMINAL

    wait_for(settled, 120, "the course to settle", worker)
    assert course.status == Course.Status.COMPLETED, worker.tail()
    state = platforms.state()
    assert_no_duplicates(state)
    assert len(state["github"]["repos"]) == 3
    for repo in state["github"]["repos"].values():
        assert set(repo["files"]) == SEEDED_FILES
    runs = JobExecution.objects.filter(course=course)
    # The run records its own end just after it releases the course: wait for that row too.
    wait_for(lambda: runs.filter(outcome="COMPLETED").exists(), 30, "the run's record", worker)
    assert runs.count() >= 2
    assert runs.filter(outcome="COMPLETED").count() == 1
    assert {step.attempts >= 1 for step in course.steps.all()} == {True}
