"""The recovery sweep finishes what died or was never started, and leaves live runs alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone
from kombu.exceptions import OperationalError

from audit.models import SystemEvent
from config.celery import app as celery_app
from courses.models import Course
from courses.services import course_create
from provisioning import runner
from provisioning.runner import Lease
from provisioning.services import provisioning_plan
from provisioning.tasks import recover_stalled_courses
from tests.factories import CourseFactory
from tests.provisioning.helpers import assert_no_duplicates, celery_conf

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    pass


def test_a_course_whose_worker_died_mid_step_is_finished_without_a_retry(
    platforms, provision, settings, monkeypatch
):
    platforms.add_servers(1)
    finish = runner._finish_step

    def die_in_seeding(step, status, error):
        if step.name == "SEED_GITHUB_CONTENT":
            raise WorkerKilled
        finish(step, status, error)

    monkeypatch.setattr(runner, "_finish_step", die_in_seeding)
    with pytest.raises(WorkerKilled):
        provision(name="Orphan")
    monkeypatch.setattr(runner, "_finish_step", finish)
    course = Course.objects.get(name="Orphan")
    assert course.status == Course.Status.IN_PROGRESS
    assert course.run_token is not None

    assert recover_stalled_courses() == 0  # its heartbeat is fresh: maybe it is alive
    settings.PROVISIONING_LEASE_SECONDS = 0  # now it is presumed dead
    assert recover_stalled_courses() == 1

    course.refresh_from_db()
    assert course.status == Course.Status.COMPLETED
    assert course.steps.get(name="SEED_GITHUB_CONTENT").attempts == 2
    assert SystemEvent.objects.filter(
        kind=SystemEvent.Kind.ORPHANED_RUN_RECOVERED, course=course
    ).exists()
    assert_no_duplicates(platforms.state())


def test_a_course_never_enqueued_is_picked_up_after_the_grace_period(platforms, settings):
    platforms.add_servers(1)
    course = CourseFactory(name="Forgotten")
    provisioning_plan(course=course)  # as if the message never left

    assert recover_stalled_courses() == 0
    Course.objects.filter(id=course.id).update(updated_at=timezone.now() - timedelta(hours=1))
    assert recover_stalled_courses() == 1

    course.refresh_from_db()
    assert course.status == Course.Status.COMPLETED
    assert recover_stalled_courses() == 0


def test_a_live_run_and_settled_courses_are_left_alone(platforms, settings):
    settings.PROVISIONING_RECOVERY_GRACE_SECONDS = 0
    running = CourseFactory(name="Running")
    assert Lease(running.id).acquire()
    CourseFactory(name="Done", status=Course.Status.COMPLETED)
    CourseFactory(name="Broken", status=Course.Status.FAILED)

    assert recover_stalled_courses() == 0


def test_a_course_created_while_the_broker_is_down_is_kept(
    monkeypatch, django_capture_on_commit_callbacks
):
    # A real broker is configured (the app's name for it: namespace CELERY), but it is down.
    def unreachable(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(celery_app, "send_task", unreachable)
    with (
        celery_conf(CELERY_TASK_ALWAYS_EAGER=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        course = course_create(name="Offline", semester="2026-fall", type="LECTURE")

    course.refresh_from_db()
    assert course.status == Course.Status.PENDING
    event = SystemEvent.objects.get(kind=SystemEvent.Kind.ENQUEUE_FAILED)
    assert event.course == course
    assert "recovery sweep" in event.message


def test_exhausted_retries_fail_the_step_and_tell_the_operator(platforms, provision):
    platforms.add_servers(1)
    platforms.control.set_faults(
        rules=[{"provider": "github", "method": "POST", "path": "/repos$", "status": 502}]
    )
    course = provision(name="Unlucky")

    assert course.status == Course.Status.FAILED
    step = course.steps.get(name="CREATE_GITHUB_REPO")
    assert step.attempts == 5
    assert step.last_error.startswith("Gave up after 5 attempts without progress")
    assert SystemEvent.objects.filter(
        kind=SystemEvent.Kind.RETRIES_EXHAUSTED, course=course
    ).exists()


def test_a_worker_time_limit_hands_the_course_back_instead_of_failing_it(
    platforms, provision, monkeypatch
):
    platforms.add_servers(1)
    create_repos = runner.HANDLERS["CREATE_GITHUB_REPO"]

    def too_slow(ctx):
        monkeypatch.setitem(runner.HANDLERS, "CREATE_GITHUB_REPO", create_repos)
        raise SoftTimeLimitExceeded()

    monkeypatch.setitem(runner.HANDLERS, "CREATE_GITHUB_REPO", too_slow)
    course = provision(name="Slow")  # in-process: the task does not re-schedule itself

    assert course.status == Course.Status.IN_PROGRESS
    assert course.run_token is None  # handed back, not held by a dead run
    assert course.steps.get(name="CREATE_GITHUB_REPO").status == "PENDING"
    assert SystemEvent.objects.filter(kind=SystemEvent.Kind.TIME_LIMIT, course=course).exists()
    assert runner.run_course(course.id).outcome == "COMPLETED"
