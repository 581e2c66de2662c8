"""Scheduled verify: live, completed, idle courses are checked for drift again every
``VERIFY_INTERVAL_HOURS`` (0: never), a few at a time.

Each tick (every ``VERIFY_SWEEP_SECONDS``: Celery beat with a broker, ``provisioning.sweeper`` in
the web process without one) starts a VERIFY for at most ``VERIFY_BATCH_PER_TICK`` due courses,
the longest unchecked first. A course never verified counts as checked when it was created, so a
new course waits one interval, and a semester imported at once (all due together the first time)
is spread over several ticks instead of spending the platforms' read budgets in one burst; after
that each course stays due at its own time. Drift found records a ``drift_detected`` system event
(``provisioning.drift.drift_report_record``), as a verify asked by hand does.

Archived courses are left out: they are read-only by design until unarchived, and torn-down
ones are records only.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import DateTimeField, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from courses.models import Course
from provisioning.models import DriftReport
from provisioning.operations import OperationBusyError, OperationNotAllowedError
from provisioning.verify import course_verify

logger = logging.getLogger(__name__)


def courses_due_for_verify(
    *, now: datetime | None = None, limit: int | None = None
) -> list[Course]:
    """The courses a tick would verify, the longest unchecked first (reads the database only)."""
    hours = settings.VERIFY_INTERVAL_HOURS
    if hours <= 0:
        return []
    cutoff = (now or timezone.now()) - timedelta(hours=hours)
    latest = (
        DriftReport.objects.filter(course=OuterRef("pk"))
        .order_by("-checked_at")
        .values("checked_at")[:1]
    )
    due = (
        Course.objects.filter(
            status=Course.Status.COMPLETED,
            run_token__isnull=True,
            deleted_at__isnull=True,
            archived_at__isnull=True,
        )
        .annotate(
            last_checked=Coalesce(Subquery(latest, output_field=DateTimeField()), F("created_at"))
        )
        .filter(last_checked__lt=cutoff)
        .order_by("last_checked", "id")
    )
    return list(due[: limit if limit is not None else settings.VERIFY_BATCH_PER_TICK])


def courses_verify_due(*, now: datetime | None = None) -> list[uuid.UUID]:
    """One tick: start a VERIFY for each due course (at most ``VERIFY_BATCH_PER_TICK``); return
    the ids started. A course that became busy since it was selected is left for a later tick."""
    started = []
    for course in courses_due_for_verify(now=now):
        try:
            course_verify(course=course)
        except (OperationBusyError, OperationNotAllowedError) as exc:
            logger.info("scheduled verify of course %s skipped: %s", course.id, exc)
            continue
        started.append(course.id)
    return started
