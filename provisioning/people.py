"""Sync a course's roster to the platforms (a SYNC_MEMBERS operation) and spend invitations.

The operation's steps (``provisioning.handlers.people`` and ``.memberships``) add what is missing
and take away what the roster no longer has; a sync with no roster change sends no write. Members
over the organization's invitation budget wait (``CourseMember.waiting_until``);
``invitations_due``, called by the recovery sweep, starts the sync that sends them once the
24-hour window has room.

Discord invite links are ExternalResource rows (provider discord, kind ``invite``) keyed
``group-<number>`` (a lab group's, giving its role), ``staff`` and ``members`` (a lecture's);
their ``external_id`` is the invite code, ``url`` the https://discord.gg/<code> link.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from courses.models import Course, CourseMember
from provisioning.models import Operation
from provisioning.operations import OperationNotAllowedError, course_lock_idle, operation_start
from provisioning.services import CourseBusyError

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from api.models import ApiKey

logger = logging.getLogger(__name__)


def _refuse_gone(course: Course) -> None:
    if course.deleted_at is not None:
        raise OperationNotAllowedError(
            f"Course {course.id} was torn down: it has no teams or server to sync a roster to."
        )
    if course.archived_at is not None:
        raise OperationNotAllowedError(
            f"Course {course.id} is archived: unarchive it before syncing its roster."
        )


def members_sync(
    *, course: Course, requested_by_key: ApiKey | None = None, requested_by_user: User | None = None
) -> Operation:
    """Start a SYNC_MEMBERS operation; ``OperationBusyError`` while another runs,
    ``OperationNotAllowedError`` unless the course is provisioned (COMPLETED), live and not
    archived."""
    _refuse_gone(course)
    with transaction.atomic():
        locked = course_lock_idle(course=course)
        _refuse_gone(locked)
        operation = operation_start(
            course=locked,
            kind=Operation.Kind.SYNC_MEMBERS,
            requested_by_key=requested_by_key,
            requested_by_user=requested_by_user,
        )
    course.refresh_from_db()
    return operation


def invitations_due() -> list[uuid.UUID]:
    """Start a sync of every course with members waiting for an invitation whose wait is over;
    the ids of the courses started. A busy course is left for the next sweep (its running
    operation may be that very sync); a course that is not COMPLETED (failed, archived, torn
    down) waits until someone acts on it."""
    due = (
        CourseMember.objects.filter(
            github_state=CourseMember.GitHubState.WAITING,
            waiting_until__lte=timezone.now(),
            removed_at__isnull=True,
            course__status=Course.Status.COMPLETED,
            course__deleted_at__isnull=True,
            course__archived_at__isnull=True,
        )
        .values_list("course_id", flat=True)
        .distinct()
    )
    started = []
    for course in Course.objects.filter(id__in=list(due)):
        try:
            members_sync(course=course)
        except CourseBusyError:
            continue
        started.append(course.id)
    if started:
        logger.info("invitations due: roster sync started for %d course(s)", len(started))
    return started
