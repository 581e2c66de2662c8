"""The course page shows its operations with every attempt, and a wrongly bound failed course's
server is editable there (and only then). Its operation buttons (verify, repair, archive,
unarchive, tear down) each show a confirmation page with the plan, and start the operation on
POST; the list archives and verifies many courses after a confirmation page."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.html import escape

from courses.changes import course_add_groups
from courses.models import Course
from courses.services import LabGroupInput
from integrations.errors import TransientError
from provisioning.archive import archive_plan
from provisioning.models import ExternalResource, Operation
from provisioning.repair import repair_plan
from provisioning.steps import HANDLERS
from provisioning.teardown import teardown_plan
from provisioning.verify import course_verify, drift_report_latest
from tests.factories import CourseFactory

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


# --- operation buttons ----------------------------------------------------------------------------
LIST_URL = reverse("admin:courses_course_changelist")
BUTTONS = ("verify", "repair", "archive", "unarchive", "teardown")


def action_url(course: Course, slug: str) -> str:
    return reverse(f"admin:courses_course_{slug}", args=[course.pk])


def buttons(html: str) -> set[str]:
    return {slug for slug in BUTTONS if f'id="operation-{slug}"' in html}


def said(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m.message)) for m in get_messages(response.wsgi_request)]


def shows_plan(html: str, changes: list[str]) -> bool:
    return bool(changes) and all(escape(change) in html for change in changes)


@pytest.fixture
def lecture(platforms, provision) -> Course:
    platforms.add_servers(1)
    course = provision(name="Compilers")
    assert course.status == Course.Status.COMPLETED
    return course


def test_buttons_follow_the_course_and_need_the_change_permission(
    lecture, staff_client, viewer_client
):
    assert buttons(staff_client.get(page_url(lecture)).content.decode()) == {
        "verify",
        "archive",
        "teardown",
    }
    failed = CourseFactory(name="Broken", status=Course.Status.FAILED)
    assert buttons(staff_client.get(page_url(failed)).content.decode()) == {"teardown"}
    running = CourseFactory(name="Running", status=Course.Status.IN_PROGRESS)
    assert buttons(staff_client.get(page_url(running)).content.decode()) == set()

    assert buttons(viewer_client.get(page_url(lecture)).content.decode()) == set()
    assert viewer_client.get(action_url(lecture, "archive")).status_code == 403
    assert viewer_client.post(action_url(lecture, "verify")).status_code == 403
    assert not lecture.operations.exclude(kind="PROVISION").exists()


# Outside a test transaction, as in production: the in-process run happens within the POST, and
# the message says how it ended.
@pytest.mark.django_db(transaction=True)
def test_verify_from_the_page_shows_the_drift_and_offers_repair(
    lecture, platforms, staff, staff_client
):
    page = staff_client.get(action_url(lecture, "verify")).content.decode()
    assert "Reads only" in page and 'name="csrfmiddlewaretoken"' in page
    channel = ExternalResource.objects.filter(course=lecture, kind="channel").first()
    platforms.control.delete_channel(channel.external_id)

    response = staff_client.post(action_url(lecture, "verify"))

    assert response.status_code == 302 and response.url == page_url(lecture)
    assert said(response) == [
        ("success", "Verify (drift detection) of “Compilers (2026-fall)” completed.")
    ]
    operation = lecture.operations.get(kind=Operation.Kind.VERIFY)
    assert (operation.status, operation.requested_by_user) == ("COMPLETED", staff)
    html = staff_client.get(page_url(lecture)).content.decode()
    assert 'id="drift-report"' in html and "drift found" in html
    assert html.count('class="drifted"') == 1 and channel.key in html
    assert "repair" in buttons(html)


def test_repair_from_the_page_puts_back_what_drifted(
    lecture, platforms, staff_client, django_capture_on_commit_callbacks
):
    channel = ExternalResource.objects.filter(course=lecture, kind="channel").first()
    platforms.control.delete_channel(channel.external_id)
    with django_capture_on_commit_callbacks(execute=True):
        course_verify(course=lecture)
    lecture.refresh_from_db()

    page = staff_client.get(action_url(lecture, "repair")).content.decode()
    assert shows_plan(page, repair_plan(course=lecture)["changes"])
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(action_url(lecture, "repair"))

    assert response.status_code == 302
    assert lecture.operations.get(kind=Operation.Kind.REPAIR).status == "COMPLETED"
    with django_capture_on_commit_callbacks(execute=True):
        course_verify(course=lecture)
    assert not drift_report_latest(course=lecture).drifted


def test_archive_then_unarchive_from_the_page(
    lecture, staff_client, django_capture_on_commit_callbacks
):
    plan = archive_plan(course=lecture)
    page = staff_client.get(action_url(lecture, "archive")).content.decode()
    assert shows_plan(page, plan["changes"])
    assert f"Costs {plan['githubWrites']} GitHub write" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(action_url(lecture, "archive"))
    assert response.status_code == 302
    assert said(response) == [
        ("success", "Archive of “Compilers (2026-fall)” has started; this page follows its steps.")
    ]
    lecture.refresh_from_db()
    assert lecture.operations.get(kind=Operation.Kind.ARCHIVE).status == "COMPLETED"
    assert lecture.archived_at is not None
    html = staff_client.get(page_url(lecture)).content.decode()
    assert buttons(html) == {"verify", "unarchive", "teardown"} and 'id="archived"' in html

    assert "unarchived" in staff_client.get(action_url(lecture, "unarchive")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(action_url(lecture, "unarchive"))
    lecture.refresh_from_db()
    assert lecture.operations.get(kind=Operation.Kind.UNARCHIVE).status == "COMPLETED"
    assert lecture.archived_at is None


def test_tear_down_asks_for_the_name_and_a_wrong_one_does_nothing(
    lecture, platforms, staff_client, django_capture_on_commit_callbacks
):
    page = staff_client.get(action_url(lecture, "teardown")).content.decode()
    assert 'name="confirm_name"' in page
    assert shows_plan(page, teardown_plan(course=lecture)["changes"])
    seen = len(platforms.requests())

    with django_capture_on_commit_callbacks(execute=True):
        wrong = staff_client.post(action_url(lecture, "teardown"), {"confirm_name": "compilers"})
    assert wrong.status_code == 200 and 'id="name-error"' in wrong.content.decode()
    assert not lecture.operations.filter(kind=Operation.Kind.TEARDOWN).exists()
    assert len(platforms.requests()) == seen

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            action_url(lecture, "teardown"), {"confirm_name": " Compilers "}
        )
    assert response.status_code == 302
    lecture.refresh_from_db()
    assert lecture.operations.get(kind=Operation.Kind.TEARDOWN).status == "COMPLETED"
    assert lecture.deleted_at is not None
    html = staff_client.get(page_url(lecture)).content.decode()
    assert 'id="torn-down"' in html and buttons(html) == set()


def test_a_refusal_is_an_error_message_not_a_500(staff_client, django_capture_on_commit_callbacks):
    failed = CourseFactory(name="Broken", status=Course.Status.FAILED)
    busy = CourseFactory(name="Busy", status=Course.Status.COMPLETED)
    Operation.objects.create(course=busy, kind=Operation.Kind.RENAME)  # pending

    with django_capture_on_commit_callbacks(execute=True):
        refused = staff_client.post(action_url(failed, "archive"), follow=True)
        also = staff_client.post(action_url(busy, "verify"), follow=True)

    assert [level for level, _ in said(refused)] == ["error"]
    assert "Archive not started" in said(refused)[0][1]
    assert said(also)[0][0] == "error" and "busy" in said(also)[0][1]
    assert not Operation.objects.filter(kind__in=("ARCHIVE", "VERIFY")).exists()


def test_list_actions_confirm_then_start_each_course(
    lecture, staff_client, django_capture_on_commit_callbacks
):
    failed = CourseFactory(name="Broken", status=Course.Status.FAILED)
    selected = [str(lecture.pk), str(failed.pk)]

    confirm = staff_client.post(
        LIST_URL, {"action": "archive_selected", "_selected_action": selected}
    )
    html = confirm.content.decode()
    assert confirm.status_code == 200 and 'name="post" value="yes"' in html
    assert "Compilers (2026-fall)" in html and "Broken (2026-fall)" in html
    assert shows_plan(html, archive_plan(course=lecture)["changes"])
    assert not Operation.objects.filter(kind="ARCHIVE").exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = staff_client.post(
            LIST_URL,
            {"action": "archive_selected", "_selected_action": selected, "post": "yes"},
            follow=True,
        )
    messages = said(done)
    assert ("success", "Archive started for 1 course: Compilers (2026-fall).") in messages
    assert any(level == "error" and "Broken" in text for level, text in messages)
    assert lecture.operations.get(kind="ARCHIVE").status == "COMPLETED"
    assert not failed.operations.exists()

    confirm = staff_client.post(
        LIST_URL, {"action": "verify_selected", "_selected_action": [str(lecture.pk)]}
    )
    assert "Reads only" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            LIST_URL,
            {"action": "verify_selected", "_selected_action": [str(lecture.pk)], "post": "yes"},
        )
    assert lecture.operations.get(kind="VERIFY").status == "COMPLETED"
