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
from django.db.models import Max, Q
from django.db.models.functions import Coalesce, Greatest
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
    return _syncs_start(list(due), why="invitations due")


def _syncs_start(course_ids: list[uuid.UUID], *, why: str) -> list[uuid.UUID]:
    """Start a sync of each course; one found busy is left for the next sweep."""
    started = []
    for course in Course.objects.filter(id__in=course_ids):
        try:
            members_sync(course=course)
        except CourseBusyError:
            continue
        started.append(course.id)
    if started:
        logger.info("%s: roster sync started for %d course(s)", why, len(started))
    return started


def roster_syncs_due() -> list[uuid.UUID]:
    """Start a sync of every idle, provisioned course whose roster changed since its last sync
    (a roster edited while the course was busy: the import saved it and said the sync was
    pending); the ids of the courses started.

    Changed: a live member no sync has carried (``NOT_SYNCED``), or a removed one still in or
    invited to the organization, changed (``updated_at``, ``removed_at``) after the course's last
    sync began. A member a completed sync left as it was is not a change, so a sync that cannot
    carry someone is not started again and again.
    """
    live = Q(removed_at__isnull=True, github_state=CourseMember.GitHubState.NOT_SYNCED)
    gone = Q(removed_at__isnull=False) & ~Q(
        github_state__in=(CourseMember.GitHubState.REMOVED, CourseMember.GitHubState.NOT_SYNCED)
    )
    changed = (
        CourseMember.objects.filter(live | gone)
        .filter(
            course__status=Course.Status.COMPLETED,
            course__run_token__isnull=True,
            course__deleted_at__isnull=True,
            course__archived_at__isnull=True,
        )
        .values("course_id")
        .annotate(last_change=Max(Greatest("updated_at", Coalesce("removed_at", "updated_at"))))
    )
    last_sync = dict(
        Operation.objects.filter(
            kind=Operation.Kind.SYNC_MEMBERS, course_id__in=[row["course_id"] for row in changed]
        )
        .values("course_id")
        .annotate(last=Max("created_at"))
        .values_list("course_id", "last")
    )
    due = [
        row["course_id"]
        for row in changed
        if last_sync.get(row["course_id"]) is None
        or row["last_change"] > last_sync[row["course_id"]]
    ]
    return _syncs_start(due, why="roster changed")
