"""Find courses whose provisioning stopped without finishing, and start them again.

A run can vanish in ways no retry sees: its worker killed mid-step, its message lost, or never
sent because the broker was down when the course was created. The periodic sweep (Celery beat,
``PROVISIONING_RECOVERY_INTERVAL_SECONDS``) re-enqueues:

- courses claimed by a run whose heartbeat is older than ``PROVISIONING_LEASE_SECONDS`` (the
  run is dead; its claim will be taken over), and
- unclaimed courses still PENDING or IN_PROGRESS that nothing touched for
  ``PROVISIONING_RECOVERY_GRACE_SECONDS`` (their message is lost, or was never sent).

Re-enqueuing is always safe: a run that finds the course claimed by a live run, or finished,
does nothing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from audit.models import SystemEvent
from audit.services import system_event_record
from courses.models import Course

ACTIVE = [Course.Status.PENDING, Course.Status.IN_PROGRESS]


def stalled_courses() -> list[uuid.UUID]:
    now = timezone.now()
    dead = Q(
        run_token__isnull=False,
        heartbeat_at__lt=now - timedelta(seconds=settings.PROVISIONING_LEASE_SECONDS),
    )
    forgotten = Q(
        run_token__isnull=True,
        updated_at__lt=now - timedelta(seconds=settings.PROVISIONING_RECOVERY_GRACE_SECONDS),
    )
    return list(
        Course.objects.filter(status__in=ACTIVE)
        .filter(dead | forgotten)
        .values_list("id", flat=True)
    )


def courses_recover() -> list[uuid.UUID]:
    """Re-enqueue every stalled course; return their ids."""
    from provisioning.tasks import provision_course

    recovered = []
    for course_id in stalled_courses():
        # Touch it first: the next sweep leaves it alone for another grace period.
        Course.objects.filter(id=course_id).update(updated_at=timezone.now())
        provision_course.delay(str(course_id))
        system_event_record(
            kind=SystemEvent.Kind.ORPHANED_RUN_RECOVERED,
            message=f"Course {course_id} had stopped without finishing; provisioning re-enqueued.",
            course_id=course_id,
            severity=SystemEvent.Severity.WARNING,
        )
        recovered.append(course_id)
    return recovered
