"""Provisioning in the background of this process: the embedded default, when there is no broker.

Without a broker there is no worker, and running a course's steps inside the request that created
it would keep the request (or the admin's Save) waiting for minutes. So the course is handed to a
small pool of threads of the web process and the request answers at once; the course page and
``GET /courses/{id}/status`` show its steps advancing.

Why threads and not a process or a queue table: the runner already makes a run safe to lose (the
database is the checkpoint, a dead run's claim expires, ``provisioning.sweeper`` re-submits what
stopped), so a thread needs no durability of its own, and it costs no service to install. The
price: a web process that exits takes its unfinished runs with it; the sweep (this process's, or
the next one started) finishes them. ``manage.py provision_course`` waits for its job before
exiting.

Two threads: a laboratory course spends most of its time waiting on Discord and GitHub, and the
platforms' rate limits are shared anyway; more threads would only queue on them.

Courses wait for a thread in order of priority, then of submission: a high-priority course sent
after a batch of fifty low ones runs as soon as a thread frees, not after the batch (the same
order as the broker's priority with Celery, and as the shared write budgets' turns). A plain
``ThreadPoolExecutor`` serves its queue first in, first out, so the pool is handed only "run the
next course" tokens, one per course queued, and each token takes the best-ranked course waiting
when a thread picks it up.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field

from django.db import connections

from integrations.ratelimit import PRIORITY_ORDER
from provisioning.runner import run_course

logger = logging.getLogger(__name__)

MAX_WORKERS = 2

_executor = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="provisioning")
_lock = threading.Lock()
_jobs: dict[str, Future[str]] = {}  # course id -> its queued or running job in this process
_crashes: dict[str, BaseException] = {}  # course id -> how its last job here crashed


@dataclass(order=True)
class _Waiting:
    """A course waiting for a thread; the heap's order is (priority rank, submission order)."""

    rank: int
    order: int
    course_id: str = field(compare=False)
    job: Future[str] = field(compare=False)


_waiting: list[_Waiting] = []  # a heap; an entry that was re-ranked stays here, stale
_queued: dict[str, _Waiting] = {}  # course id -> its live entry, until a thread takes it
_submitted = itertools.count()


def background_submit(*, course_id: str, priority: str = "normal") -> Future[str]:
    """Queue the course's run on this process's threads, behind the courses of a higher
    ``priority`` (``Course.priority``) and those of its own sent before it.

    A course already queued here is not queued twice (the sweep may find it PENDING while it
    waits behind others); sent again with another priority while it still waits (its priority
    was changed), it moves to that rank, keeping its place in the order of submission.
    """
    rank = PRIORITY_ORDER.get(priority, PRIORITY_ORDER["normal"])
    with _lock:
        job = _jobs.get(course_id)
        if job is not None and not job.done():
            waiting = _queued.get(course_id)
            if waiting is not None and waiting.rank != rank:
                moved = _Waiting(rank, waiting.order, course_id, job)
                heapq.heappush(_waiting, moved)
                _queued[course_id] = moved  # the old entry is skipped when popped
            return job
        job = Future()
        waiting = _Waiting(rank, next(_submitted), course_id, job)
        heapq.heappush(_waiting, waiting)
        _queued[course_id] = waiting
        _jobs[course_id] = job
    # Outside the lock: the token's thread takes the lock to pop, and a job that already
    # finished runs the callback at once, in this thread (_forget takes the lock itself).
    _executor.submit(_run_next)
    job.add_done_callback(lambda done: _forget(course_id, done))
    return job


def background_wait(*, timeout: float | None = None) -> bool:
    """Wait for every job queued in this process (a command before it exits, tests); True when
    all finished within ``timeout``."""
    with _lock:
        jobs = list(_jobs.values())
    _, pending = futures_wait(jobs, timeout=timeout)
    return not pending


def _forget(course_id: str, job: Future[str]) -> None:
    with _lock:
        if _jobs.get(course_id) is job:
            del _jobs[course_id]


def background_crash(*, course_id: str) -> BaseException | None:
    """How the course's last job in this process crashed, if it did: the course then stays
    IN_PROGRESS until the sweep takes it over, and whoever waits for it should know now."""
    with _lock:
        return _crashes.get(course_id)


def _run_next() -> None:
    """One token of the pool: run the best-ranked course waiting now."""
    waiting = _take_best()
    if waiting is None:
        return  # only after a cancelled job's course was sent again: its entry is stale
    job = waiting.job
    if not job.set_running_or_notify_cancel():
        return  # cancelled while it waited
    try:
        job.set_result(_run(waiting.course_id))
    except BaseException as exc:  # _run logged it and recorded the crash; its waiter sees it
        job.set_exception(exc)


def _take_best() -> _Waiting | None:
    """Pop the best-ranked live entry, dropping the stale ones of re-ranked courses on the way.
    There are as many tokens as live entries, so a token always finds one."""
    with _lock:
        while _waiting:
            waiting = heapq.heappop(_waiting)
            if _queued.get(waiting.course_id) is waiting:
                del _queued[waiting.course_id]
                return waiting
    return None


def _run(course_id: str) -> str:
    with _lock:
        _crashes.pop(course_id, None)
    try:
        result = run_course(course_id)
        # BUSY: a live run elsewhere holds the course and will finish it; DEFERRED after a time
        # limit cannot happen here. Either way the sweep covers a run that dies later.
        return result.outcome
    except BaseException as exc:
        # run_course recorded the job as CRASHED; the thread pool would swallow the traceback.
        logger.exception("background provisioning of course %s crashed", course_id)
        with _lock:
            _crashes[course_id] = exc
        raise
    finally:
        connections.close_all()  # this thread's connections only: they are per thread
