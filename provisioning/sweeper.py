"""The recovery sweep in the web process, for the embedded default (no broker, so no beat).

A daemon thread runs ``recovery_sweep`` every ``PROVISIONING_RECOVERY_INTERVAL_SECONDS``, as
beat does with a broker: it finishes what a previous web process left when it exited mid-run, and
anything whose background job died. Several web processes may each sweep: the sweep claims each
course with a compare-and-set, so a course is re-submitted once.

The same thread ticks the verify schedule (``provisioning.schedule``) every
``VERIFY_SWEEP_SECONDS`` (checked once per sweep, so no more often than the sweep runs); two
web processes ticking at once start one verify per course: the second finds it busy.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import connections

from config.celery import BACKGROUND, execution_mode
from provisioning.recovery import recovery_sweep
from provisioning.schedule import courses_verify_due

logger = logging.getLogger(__name__)

_started = threading.Event()


def sweeper_start() -> bool:
    """Start the sweep thread once per process, in background mode only; True if started now."""
    if execution_mode() != BACKGROUND or _started.is_set():
        return False
    _started.set()
    threading.Thread(target=_loop, name="provisioning-sweeper", daemon=True).start()
    return True


def sweep_once() -> int:
    """One sweep; never raises (a failing sweep must not end the thread)."""
    try:
        return recovery_sweep()
    except Exception:
        logger.exception("recovery sweep failed")
        return 0
    finally:
        connections.close_all()


def verify_tick_once() -> int:
    """One tick of the verify schedule (provisioning.schedule); never raises."""
    try:
        return len(courses_verify_due())
    except Exception:
        logger.exception("scheduled verify failed")
        return 0
    finally:
        connections.close_all()


def _loop() -> None:
    interval = settings.PROVISIONING_RECOVERY_INTERVAL_SECONDS
    next_verify = time.monotonic()  # as beat does, the verify schedule ticks on its own period
    while True:
        sweep_once()
        if settings.VERIFY_INTERVAL_HOURS > 0 and time.monotonic() >= next_verify:
            verify_tick_once()
            next_verify = time.monotonic() + settings.VERIFY_SWEEP_SECONDS
        time.sleep(interval)
