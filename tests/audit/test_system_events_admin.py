"""Operators read system events in the admin; nobody edits them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from audit.models import SystemEvent
from audit.services import system_event_record
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="x"))
    return client


def test_events_are_listed_filtered_and_shown(superuser_client):
    course = CourseFactory(name="Watched")
    event = system_event_record(
        kind=SystemEvent.Kind.RETRIES_EXHAUSTED,
        message="SEED_GITHUB_CONTENT gave up",
        course_id=course.id,
        severity=SystemEvent.Severity.ERROR,
        attempts=5,
    )
    system_event_record(kind=SystemEvent.Kind.RATE_LIMITED, message="waiting 90s")

    listing = superuser_client.get(
        reverse("admin:audit_systemevent_changelist"), {"kind": "retries_exhausted"}
    )
    assert listing.status_code == 200
    assert "SEED_GITHUB_CONTENT gave up" in listing.text
    assert "waiting 90s" not in listing.text
    page = superuser_client.get(reverse("admin:audit_systemevent_change", args=[event.pk]))
    assert page.status_code == 200
    assert "&quot;attempts&quot;: 5" in page.text
    assert "Watched" in page.text


def test_nobody_adds_changes_or_deletes_events(superuser_client):
    event = system_event_record(kind=SystemEvent.Kind.TIME_LIMIT, message="too slow")
    assert superuser_client.get(reverse("admin:audit_systemevent_add")).status_code == 403
    delete = reverse("admin:audit_systemevent_delete", args=[event.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    change = reverse("admin:audit_systemevent_change", args=[event.pk])
    superuser_client.post(change, {"message": "edited"})
    event.refresh_from_db()
    assert event.message == "too slow"
    assert SystemEvent.objects.count() == 1
