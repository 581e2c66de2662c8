"""The per-organization invitation budget: GitHub's 24-hour limit, kept by us so it is never hit.

GitHub refuses an organization's invitations beyond 50 in 24 hours (500 for older or paid
organizations), team memberships that invite someone included, and says nothing about when room
comes back. The roster sync therefore spends invitations from its own budget,
``GITHUB_INVITATION_BUDGET`` per organization per 24 hours, shared by every course of the
organization and every worker:

- the ledger is the ``MEMBERSHIP`` resources whose data says they invite (``invites``) and whose
  intent was written in the last 24 hours (plus a small margin: the intent is written just before
  the call, GitHub counts from the call);
- spending one is a transaction that locks the organization's ``InvitationWindow`` row, counts
  the ledger and writes the intent, so two workers never both take the last slot (on SQLite the
  transaction's write lock does the same);
- over budget, nothing is written: the caller learns when the oldest counted invitation leaves
  the window, and the member waits until then;
- an intent left by an attempt that died before its call is counted again from the moment its
  call is finally sent (``invitation_respend``), or waits like a new one;
- a team membership for a username already in the organization invites nobody: over budget, the
  roster sync reads that (one read) and writes its intent uncounted (``invitation_spare``,
  ``invitation_unspend``: ``invites`` False) instead of making the member wait for a slot they
  would not use. Should GitHub invite them anyway (they left the organization between the read
  and the call), the answer marks the row as inviting and it counts from its intent's time: the
  window may then hold one more than the budget, for that rare race only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from courses.models import Course, CourseMember, LabGroup
from provisioning.models import ExternalResource, InvitationWindow, ResourceKind

WINDOW = timedelta(hours=24)
# The intent is written a moment before GitHub counts the invitation: keep it counted a little
# longer than GitHub does, so that a slot we think free is free there too.
MARGIN = timedelta(minutes=5)


def invitation_org(*, course: Course) -> str:
    """The organization the course's teams live in, as the ledger names it (lowercase)."""
    return (course.github_org or settings.GITHUB_ORG).lower()


@dataclass(frozen=True)
class Spent:
    """The outcome of asking for an invitation: the intent written, or when to ask again."""

    resource: ExternalResource | None
    waiting_until: datetime | None = None


def _counted(*, org: str, now: datetime) -> Any:
    return ExternalResource.objects.filter(
        provider=ExternalResource.Provider.GITHUB,
        kind=ResourceKind.MEMBERSHIP,
        data__org=org,
        data__invites=True,
        created_at__gte=now - WINDOW - MARGIN,
    )


def _lock(org: str) -> None:
    """Lock the organization's window row (inside a transaction): every worker inviting into the
    organization queues on it."""
    InvitationWindow.objects.get_or_create(org=org)
    InvitationWindow.objects.select_for_update().get(org=org)


def _room_again(counted: Any, now: datetime) -> datetime:
    """When the oldest counted invitation leaves the window: a slot is free again then."""
    oldest = counted.order_by("created_at").values_list("created_at", flat=True).first()
    return (oldest or now) + WINDOW + MARGIN


def invitations_counted(*, org: str) -> int:
    """Invitations the organization spent in the window, as the ledger counts them."""
    return int(_counted(org=org, now=timezone.now()).count())


def invitation_spend(
    *,
    course: Course,
    key: str,
    member: CourseMember | None,
    lab_group: LabGroup | None,
    data: dict[str, Any],
) -> Spent:
    """Write the intent of one invitation (an INTENDED ``MEMBERSHIP`` resource counted against
    the organization's budget) or, over budget, write nothing and say when room comes back.

    ``data`` is the resource's; it gets ``org`` and ``invites`` (True: counted). The caller sends
    the invitation right after, and confirms the resource with the platform's answer.
    """
    org = invitation_org(course=course)
    budget = settings.GITHUB_INVITATION_BUDGET
    with transaction.atomic():
        _lock(org)
        now = timezone.now()
        counted = _counted(org=org, now=now)
        if counted.count() >= budget:
            return Spent(None, _room_again(counted, now))
        resource = _intent(course, key, member, lab_group, {**data, "org": org, "invites": True})
    return Spent(resource)


def invitation_spare(
    *,
    course: Course,
    key: str,
    member: CourseMember | None,
    lab_group: LabGroup | None,
    data: dict[str, Any],
) -> ExternalResource:
    """Write the intent of a team membership that spends no invitation (``invites`` False, not
    counted): its username was just read to be in the organization already, so GitHub sends
    no invitation. No lock: it takes no slot. An uncounted intent is only ever one of these."""
    org = invitation_org(course=course)
    return _intent(course, key, member, lab_group, {**data, "org": org, "invites": False})


def _intent(
    course: Course,
    key: str,
    member: CourseMember | None,
    lab_group: LabGroup | None,
    data: dict[str, Any],
) -> ExternalResource:
    return ExternalResource.objects.create(
        course=course,
        provider=ExternalResource.Provider.GITHUB,
        kind=ResourceKind.MEMBERSHIP,
        key=key,
        member=member,
        lab_group=lab_group,
        state=ExternalResource.State.INTENDED,
        data=data,
    )


def invitation_respend(*, course: Course, resource: ExternalResource) -> datetime | None:
    """Count again, from now, an intent written by an earlier attempt whose call is sent now
    (that attempt died or failed before it): ``None`` when it may go, else when to ask again.

    The ledger counts an invitation from its intent's time, GitHub from the call's: an intent a
    day old no longer counts, and one an hour old would leave our window an hour before GitHub's.
    Its time becomes now, under the organization's lock; one no longer counted (or written
    uncounted by :func:`invitation_spare`: the organization membership read then is not trusted
    now) takes a new slot, and counts.
    """
    org = invitation_org(course=course)
    budget = settings.GITHUB_INVITATION_BUDGET
    with transaction.atomic():
        _lock(org)
        now = timezone.now()
        counted = _counted(org=org, now=now)
        if not counted.filter(id=resource.id).exists() and counted.count() >= budget:
            return _room_again(counted, now)
        _restamp(resource, now, invites=True)
    return None


def invitation_unspend(*, resource: ExternalResource) -> None:
    """An earlier attempt's intent whose team membership is sent now, over budget, because its
    username was just read to be in the organization: uncounted from now (``invites`` False), its
    time now, so that should GitHub invite them anyway the invitation counts from this call."""
    _restamp(resource, timezone.now(), invites=False)


def _restamp(resource: ExternalResource, now: datetime, *, invites: bool) -> None:
    data = {**resource.data, "invites": invites}
    ExternalResource.objects.filter(id=resource.id).update(created_at=now, data=data)
    resource.created_at, resource.data = now, data
