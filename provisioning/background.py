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
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait

from django.db import connections

from provisioning.runner import run_course

logger = logging.getLogger(__name__)

MAX_WORKERS = 2

_executor = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="provisioning")
_lock = threading.Lock()
_jobs: dict[str, Future[str]] = {}  # course id -> its queued or running job in this process
_crashes: dict[str, BaseException] = {}  # course id -> how its last job here crashed


def background_submit(*, course_id: str) -> Future[str]:
    """Queue the course's run on this process's threads; a course already queued here is not
    queued twice (the sweep may find it PENDING while it waits behind others)."""
    with _lock:
        job = _jobs.get(course_id)
        if job is not None and not job.done():
            return job
        job = _executor.submit(_run, course_id)
        _jobs[course_id] = job
    # Outside the lock: a job that already finished runs the callback at once, and _forget
    # takes the lock itself.
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
