"""The course page shows its operations with every attempt, and a wrongly bound failed course's
server is editable there (and only then)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from courses.changes import course_add_groups
from courses.models import Course
from courses.services import LabGroupInput
from integrations.errors import TransientError
from provisioning.steps import HANDLERS

pytestmark = pytest.mark.django_db


def page_url(course: Course) -> str:
    return reverse("admin:courses_course_change", args=[course.pk])


class _Inputs(HTMLParser):
    """The values a browser would send back: every input of the page's form."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("name") and found.get("type") not in ("submit", "checkbox"):
            self.values[found["name"] or ""] = found.get("value") or ""


def form_values(html: str) -> dict[str, str]:
    parser = _Inputs()
    parser.feed(html)
    return parser.values


def test_the_course_page_shows_operations_and_every_attempt(
    staff_client, platforms, provision, monkeypatch, django_capture_on_commit_callbacks
):
    platforms.add_servers(1)
    real = HANDLERS["CREATE_GROUP_REPOS"]
    calls: list[int] = []

    def flaky(ctx):
        calls.append(1)
        if len(calls) == 1:
            raise TransientError("GitHub answered 502 the first time")
        real(ctx)

    monkeypatch.setitem(HANDLERS, "CREATE_GROUP_REPOS", flaky)
    course = provision(name="Networks", type="LABORATORY", groups=("Monday",))
    with django_capture_on_commit_callbacks(execute=True):
        course_add_groups(course=course, groups=[LabGroupInput(name="Tuesday", number=2)])

    html = staff_client.get(page_url(course)).content.decode()
    assert "Operations (each step with every attempt)" in html
    assert "Provision" in html and "Add lab groups" in html
    assert "GitHub answered 502 the first time" in html
    assert html.count("Failed, retried") == 1
    assert 'name="discord_guild_id"' not in html  # made in Discord: no rebind any more


def test_a_wrongly_bound_failed_course_is_rebound_from_its_page(
    staff_client, platforms, provision, django_capture_on_commit_callbacks
):
    wrong = platforms.control.create_guild(name="No bot", bot_member=False)
    course = provision(discord_guild_id=wrong["id"])
    assert course.status == Course.Status.FAILED
    page = staff_client.get(page_url(course)).content.decode()
    assert 'name="discord_guild_id"' in page

    values = form_values(page)
    values["discord_guild_id"] = "12"
    refused = staff_client.post(page_url(course), values)
    assert refused.status_code == 200
    assert "snowflake" in refused.content.decode()

    right = platforms.control.create_guild(name="Staff server")
    values["discord_guild_id"] = right["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(page_url(course), values)
    assert response.status_code == 302, response.content.decode()[:2000]
    course.refresh_from_db()
    assert course.discord_guild_id == right["id"]
    assert course.status == Course.Status.COMPLETED
