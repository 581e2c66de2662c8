"""The invitation budget is the organization's, across courses and concurrent workers: never more
intents in 24 hours than ``GITHUB_INVITATION_BUDGET``, and the rest told when room comes back."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from provisioning.invitations import invitation_spend, invitations_counted
from provisioning.models import ExternalResource
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(function, *args):
    try:
        return function(*args)
    finally:
        connection.close()


def test_concurrent_workers_of_two_courses_never_overspend_the_organizations_budget(settings):
    settings.GITHUB_ORG = "shared-org"
    settings.GITHUB_INVITATION_BUDGET = 5
    courses = [CourseFactory(github_org=""), CourseFactory(github_org="Shared-Org".lower())]
    other_org = CourseFactory(github_org="elsewhere")
    attempts = 12
    barrier = threading.Barrier(attempts)

    def spend(number: int):
        barrier.wait()
        return invitation_spend(
            course=courses[number % 2],
            key=f"member-{number}:team",
            member=None,
            lab_group=None,
            data={"kind": "invitation", "email": f"p{number}@uni.example"},
        )

    with ThreadPoolExecutor(attempts) as pool:
        results = list(pool.map(lambda n: _in_thread(spend, n), range(attempts)))

    spent = [r for r in results if r.resource is not None]
    waiting = [r.waiting_until for r in results if r.resource is None]
    assert len(spent) == 5 and len(waiting) == 7
    assert invitations_counted(org="shared-org") == 5
    oldest = ExternalResource.objects.order_by("created_at").first().created_at
    assert all(
        oldest + timedelta(hours=24) < w <= oldest + timedelta(hours=24, minutes=6) for w in waiting
    )
    # another organization has its own budget
    assert invitation_spend(
        course=other_org, key="member-x:team", member=None, lab_group=None, data={}
    ).resource
    # an intent older than the window no longer counts
    ExternalResource.objects.filter(data__org="shared-org").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert invitations_counted(org="shared-org") == 0


def test_an_org_members_intent_is_uncounted_and_counted_again_only_when_respent(settings):
    """``invitation_spare`` takes no slot; an earlier attempt's spared intent sent with room is
    counted (the old read is not trusted), and one sent over budget after a new read is not."""
    from provisioning.invitations import invitation_respend, invitation_spare, invitation_unspend

    settings.GITHUB_INVITATION_BUDGET = 1
    course = CourseFactory(github_org="kept-org")
    spared = invitation_spare(
        course=course, key="member-1:team", member=None, lab_group=None, data={"kind": "x"}
    )
    assert spared.data == {"kind": "x", "org": "kept-org", "invites": False}
    assert invitations_counted(org="kept-org") == 0
    assert invitation_respend(course=course, resource=spared) is None  # room: counted now
    assert invitations_counted(org="kept-org") == 1
    spared.refresh_from_db()
    assert spared.data["invites"] is True
    # over budget: another spared intent cannot be respent, and unspending it keeps it out
    other = invitation_spare(
        course=course, key="member-2:team", member=None, lab_group=None, data={}
    )
    assert invitation_respend(course=course, resource=other) is not None
    other.refresh_from_db()
    assert other.data["invites"] is False
    ExternalResource.objects.filter(id=other.id).update(
        created_at=timezone.now() - timedelta(hours=3)
    )
    invitation_unspend(resource=other)
    other.refresh_from_db()
    assert other.data["invites"] is False
    assert timezone.now() - other.created_at < timedelta(minutes=1)  # counts from the call
    assert invitations_counted(org="kept-org") == 1
