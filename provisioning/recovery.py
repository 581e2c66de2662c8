"""Find courses whose provisioning stopped without finishing, and start them again.

A run can vanish in ways no retry sees: its worker killed mid-step, its message lost, or never
sent because the broker was down when the course was created, or its web process exited while
it ran in the background. The periodic sweep (``PROVISIONING_RECOVERY_INTERVAL_SECONDS``: Celery
beat with a broker, ``provisioning.sweeper`` in the web process without one) re-enqueues:

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
from provisioning.models import JobExecution
from provisioning.people import invitations_due, roster_syncs_due
from provisioning.services import provisioning_send
from provisioning.signals import recovery_swept


def _dead() -> Q:
    """Claimed by a run that stopped proving it is alive."""
    stale = timezone.now() - timedelta(seconds=settings.PROVISIONING_LEASE_SECONDS)
    return Q(run_token__isnull=False, heartbeat_at__lt=stale)


def _forgotten() -> Q:
    """Unclaimed and untouched for the grace period."""
    quiet = timezone.now() - timedelta(seconds=settings.PROVISIONING_RECOVERY_GRACE_SECONDS)
    return Q(run_token__isnull=True, updated_at__lt=quiet)


def stalled_courses() -> list[tuple[uuid.UUID, str]]:
    """Each stalled course's id and priority (it is sent again with it: the background pool and
    the broker order runs by it)."""
    return list(
        Course.objects.filter(status__in=Course.ACTIVE)
        .filter(_dead() | _forgotten())
        .values_list("id", "priority")
    )


def recovery_sweep() -> int:
    """One recovery sweep, as beat's task and the embedded sweeper run it; return the number of
    courses re-enqueued.

    Stalled courses are re-enqueued; the roster syncs now due start (members whose invitation
    waited for the budget, rosters changed while their course was busy); then ``recovery_swept``
    lets the apps above recover their own (imports whose applying process died).
    """
    recovered = len(courses_recover())
    invitations_due()
    roster_syncs_due()
    recovery_swept.send(sender=Course)
    return recovered


def courses_recover() -> list[uuid.UUID]:
    """Re-enqueue every stalled course; return their ids."""
    recovered = []
    for course_id, priority in stalled_courses():
        # Release a dead run's claim and touch the course, in one compare-and-set: the next
        # sweep leaves it alone for a grace period, and a concurrent sweep does not double it.
        released = (
            Course.objects.filter(id=course_id, status__in=Course.ACTIVE)
            .filter(_dead() | _forgotten())
            .update(run_token=None, heartbeat_at=None, updated_at=timezone.now())
        )
        if not released:
            continue
        _close_dead_jobs(course_id)
        # Broker down: an event, and the next sweep.
        provisioning_send(course_id=str(course_id), priority=priority)
        system_event_record(
            kind=SystemEvent.Kind.ORPHANED_RUN_RECOVERED,
            message=f"Course {course_id} had stopped without finishing; provisioning re-enqueued.",
            course_id=course_id,
            severity=SystemEvent.Severity.WARNING,
        )
        recovered.append(course_id)
    return recovered


def _close_dead_jobs(course_id: uuid.UUID) -> None:
    """The job rows of the runs that died with their worker or process would read RUNNING
    forever: they end CRASHED. Only rows older than the lease: a run that started since is
    alive, or would have claimed the course."""
    stale = timezone.now() - timedelta(seconds=settings.PROVISIONING_LEASE_SECONDS)
    JobExecution.objects.filter(
        course_id=course_id, outcome=JobExecution.Outcome.RUNNING, started_at__lt=stale
    ).update(
        outcome=JobExecution.Outcome.CRASHED,
        error="The run stopped answering (its worker or process died); the sweep took over.",
        finished_at=timezone.now(),
    )
