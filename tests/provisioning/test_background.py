"""Without a broker, provisioning runs in a background thread of the web process: requests and
the admin's Save answer at once, and the course completes behind them."""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from api.services import api_key_create
from audit.models import SystemEvent
from config.celery import BACKGROUND, execution_mode, runs_in_process
from config.env import parse_budget
from courses.models import Course
from courses.services import course_create
from provisioning import background
from provisioning.models import Operation
from provisioning.services import provisioning_plan
from provisioning.sweeper import sweep_once, sweeper_start
from tests.api.helpers import lecture_body
from tests.courses.test_admin_add import post_course
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the thread sees only committed rows


@pytest.fixture
def in_background(platforms, settings, transactional_db) -> Iterator[None]:
    """The embedded default (no broker); every job ends before the test's database is flushed."""
    settings.PROVISIONING_EXECUTION = BACKGROUND
    yield
    assert background.background_wait(timeout=120), "a background job did not end"


@pytest.fixture
def api_client(transactional_db) -> APIClient:
    _, raw = api_key_create(name="LMS")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


def settle(course_id: uuid.UUID | str) -> Course:
    assert background.background_wait(timeout=120)
    return Course.objects.get(id=course_id)


def test_the_default_without_a_broker_is_the_background(in_background):
    assert runs_in_process()  # no worker: the runner waits in place instead of deferring
    assert execution_mode() == BACKGROUND


def test_post_courses_answers_at_once_and_the_course_completes_behind(
    in_background, platforms, api_client
):
    platforms.add_servers(1)
    platforms.control.set_faults(latency_ms=150)  # a run takes seconds

    started = time.monotonic()
    response = api_client.post("/courses", lecture_body(), format="json")
    took = time.monotonic() - started

    assert response.status_code == 202, response.content
    assert took < 1.0
    assert response.json()["status"] in ("PENDING", "IN_PROGRESS")
    course = settle(response.json()["id"])
    assert course.status == Course.Status.COMPLETED
    assert course.steps.filter(status="COMPLETED").count() == 5


def test_the_admin_save_returns_before_provisioning_ends(in_background, platforms, staff_client):
    platforms.add_servers(1)
    platforms.control.set_faults(latency_ms=150)

    started = time.monotonic()
    response = post_course(staff_client, groups=((1, "Monday"),), name="Slow Lab")
    took = time.monotonic() - started

    assert response.status_code == 302
    assert took < 2.0
    course = Course.objects.get(name="Slow Lab")
    assert course.status in (Course.Status.PENDING, Course.Status.IN_PROGRESS)
    page = staff_client.get(response["Location"])
    assert "its provisioning runs in the background" in page.content.decode()
    assert settle(course.id).status == Course.Status.COMPLETED


def test_a_long_wait_is_waited_through_in_the_thread_not_deferred(
    in_background, platforms, settings
):
    """No worker would run a re-scheduled task: the background run waits in place."""
    settings.PROVISIONING_MAX_INLINE_WAIT_SECONDS = 0  # every wait is "long"
    platforms.add_servers(1)
    platforms.control.set_faults(
        rules=[
            {"provider": "github", "method": "POST", "path": "/repos$", "status": 502, "times": 1}
        ]
    )
    created = course_create(name="Patient", semester="2026-fall", type="LECTURE")

    course = settle(created.id)
    assert course.status == Course.Status.COMPLETED
    assert course.steps.get(name="CREATE_GITHUB_REPO").attempts == 2
    assert not course.job_executions.filter(outcome="DEFERRED").exists()


def test_a_course_is_queued_once_however_often_it_is_sent(in_background, monkeypatch):
    release = threading.Event()
    ran: list[str] = []

    def slow_run(course_id: str) -> str:
        release.wait(10)
        ran.append(course_id)
        return "COMPLETED"

    monkeypatch.setattr(background, "_run", slow_run)
    first = background.background_submit(course_id="a")
    again = background.background_submit(course_id="a")
    release.set()

    assert again is first
    assert background.background_wait(timeout=10)
    assert ran == ["a"]


@pytest.fixture
def one_thread(monkeypatch) -> Iterator[None]:
    """A pool of one thread: the order of the runs is the order of the queue, nothing racing."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="provisioning-test")
    monkeypatch.setattr(background, "_executor", executor)
    yield
    executor.shutdown(wait=True)


def blocking_runs(monkeypatch) -> tuple[list[str], threading.Event, threading.Event]:
    """A fake run recording the order courses start in; the first waits for ``release`` (it
    holds the thread while others queue), ``started`` tells that it took it."""
    ran: list[str] = []
    started, release = threading.Event(), threading.Event()

    def run(course_id: str) -> str:
        ran.append(course_id)
        started.set()
        assert release.wait(10)
        return "COMPLETED"

    monkeypatch.setattr(background, "_run", run)
    return ran, started, release


def test_a_high_priority_course_sent_after_low_ones_runs_before_them(
    in_background, one_thread, monkeypatch
):
    ran, started, release = blocking_runs(monkeypatch)
    background.background_submit(course_id="busy", priority="low")
    assert started.wait(5)  # it holds the only thread: the others queue
    for course_id in ("low-1", "low-2", "low-3"):
        background.background_submit(course_id=course_id, priority="low")
    background.background_submit(course_id="normal-1")  # the default priority
    background.background_submit(course_id="high-1", priority="high")
    background.background_submit(course_id="high-2", priority="high")
    release.set()

    assert background.background_wait(timeout=10)
    # Priority first, then the order they were sent in.
    assert ran == ["busy", "high-1", "high-2", "normal-1", "low-1", "low-2", "low-3"]


def test_a_waiting_course_sent_again_with_another_priority_moves_but_runs_once(
    in_background, one_thread, monkeypatch
):
    """The sweep sends a waiting course again with its priority as it is now (staff raised it):
    it moves to that rank, still one job."""
    ran, started, release = blocking_runs(monkeypatch)
    background.background_submit(course_id="busy", priority="low")
    assert started.wait(5)
    first = background.background_submit(course_id="a", priority="low")
    background.background_submit(course_id="b", priority="low")
    background.background_submit(course_id="c", priority="normal")
    again = background.background_submit(course_id="a", priority="high")
    background.background_submit(course_id="c", priority="normal")  # same rank: stays put
    release.set()

    assert again is first
    assert background.background_wait(timeout=10)
    assert ran == ["busy", "a", "c", "b"]


def test_a_job_that_ends_before_its_callback_is_added_does_not_deadlock(in_background, monkeypatch):
    """A job can finish before ``add_done_callback`` is called, which then runs the callback at
    once, in the caller's thread: it must not need a lock the caller holds."""
    monkeypatch.setattr(background, "_run", lambda course_id: "COMPLETED")
    real_submit = background._executor.submit

    def finished_at_once(fn: Callable[..., str], *args: object) -> Future[str]:
        job = real_submit(fn, *args)
        job.result(timeout=10)
        return job

    monkeypatch.setattr(background._executor, "submit", finished_at_once)
    submitted = threading.Thread(target=background.background_submit, kwargs={"course_id": "d"})
    submitted.start()
    submitted.join(timeout=5)

    assert not submitted.is_alive(), "background_submit deadlocked on its own lock"
    assert background.background_submit(course_id="d").result(timeout=5) == "COMPLETED"


def test_a_crashed_job_closes_its_connection_and_is_logged(in_background, monkeypatch, caplog):
    def crash(course_id: str, **kwargs: object) -> None:
        connection.ensure_connection()  # the thread's own connection
        raise RuntimeError("boom")

    monkeypatch.setattr(background, "run_course", crash)
    job = background.background_submit(course_id="x")

    with pytest.raises(RuntimeError):
        job.result(timeout=10)
    assert "background provisioning of course x crashed" in caplog.text


def test_the_in_process_sweep_starts_a_forgotten_course(in_background, platforms):
    platforms.add_servers(1)
    course = CourseFactory(name="Forgotten")
    provisioning_plan(course=course)  # as if its web process exited before running it
    Course.objects.filter(id=course.id).update(updated_at=timezone.now() - timedelta(hours=1))

    assert sweep_once() == 1
    assert settle(course.id).status == Course.Status.COMPLETED
    assert SystemEvent.objects.filter(kind="orphaned_run_recovered", course=course).exists()


def test_the_sweeper_thread_runs_only_in_background_mode(settings, monkeypatch):
    settings.PROVISIONING_EXECUTION = "inline"
    assert sweeper_start() is False  # the test suite's inline mode: nothing to start
    settings.PROVISIONING_EXECUTION = BACKGROUND
    settings.PROVISIONING_RECOVERY_INTERVAL_SECONDS = 3600
    sweeps = threading.Event()
    monkeypatch.setattr("provisioning.sweeper.recovery_sweep", lambda: sweeps.set() or 0)
    monkeypatch.setattr("provisioning.sweeper._started", threading.Event())

    assert sweeper_start() is True
    assert sweeper_start() is False  # once per process
    assert sweeps.wait(10)


def test_high_priority_courses_sent_after_a_low_batch_are_ready_first(in_background, platforms):
    """The issue's measure: with the two threads busy and low courses queued, the high ones
    sent after them are ready sooner (median of their PROVISION operations' ends)."""
    platforms.add_servers(8)
    platforms.control.set_faults(latency_ms=40)  # each run holds its thread a moment
    lows = [
        course_create(name=f"Batch {n}", semester="2026-fall", type="LECTURE", priority="low")
        for n in range(6)
    ]
    highs = [
        course_create(name=f"Due {n}", semester="2026-fall", type="LECTURE", priority="high")
        for n in range(2)
    ]
    assert background.background_wait(timeout=60)

    def ready(course: Course) -> float:
        operation = Operation.objects.get(course=course, kind=Operation.Kind.PROVISION)
        assert operation.status == Operation.Status.COMPLETED
        assert operation.finished_at is not None
        return operation.finished_at.timestamp()

    # FIFO, the highs would end last (after the sixth low); ranked, they follow the two lows
    # that held the threads when they were sent.
    assert statistics.median(map(ready, highs)) < statistics.median(map(ready, lows))
    assert max(map(ready, highs)) < max(map(ready, lows))


@pytest.mark.sqlite
def test_25_concurrent_posts_on_sqlite_get_no_server_error(in_background, platforms, settings):
    """SQLite under concurrent writers: IMMEDIATE transactions queue on the lock (busy timeout)
    instead of failing, while background runs write too."""
    assert connection.vendor == "sqlite"
    settings.GITHUB_WRITE_BUDGET = parse_budget("100000/60")  # pacing is not what this tests
    platforms.add_servers(25)
    _, raw = api_key_create(name="LMS")
    barrier = threading.Barrier(25)
    statuses: list[int] = [0] * 25

    def post(index: int) -> None:
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=raw)
        try:
            barrier.wait(timeout=10)
            statuses[index] = client.post("/courses", lecture_body(), format="json").status_code
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert statuses == [202] * 25
    assert background.background_wait(timeout=300)
    assert set(Course.objects.values_list("status", flat=True)) == {Course.Status.COMPLETED}


@pytest.mark.sqlite
def test_sqlite_connections_use_wal_and_immediate_transactions():
    assert connection.vendor == "sqlite"
    assert connection.transaction_mode == "IMMEDIATE"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
