"""The roster in the admin: the course page's inline and Roster button, the Roster page (link
sheet, downloads), upload -> preview (nothing written) -> Apply, Sync, Remove, permissions."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from courses.models import Course, CourseMember
from provisioning.models import Operation
from tests.courses import roster_data as data

pytestmark = pytest.mark.django_db


@pytest.fixture
def course() -> Course:
    return data.laboratory()


def url(name: str, course: Course, *args: object) -> str:
    return reverse(f"admin:courses_course_{name}", args=[course.pk, *args])


def text(response) -> str:
    return " ".join(response.content.decode().split())


def upload(client: Client, course: Course, content: str, name: str = "roster.csv"):
    file = SimpleUploadedFile(name, content.encode("utf-8-sig"), content_type="text/csv")
    return client.post(url("roster", course), {"file": file})


def test_upload_shows_the_five_bad_lines_writes_nothing_and_offers_no_apply(staff_client, course):
    page = upload(staff_client, course, data.bad_csv())
    assert page.status_code == 200
    html = text(page)
    assert "Nothing has been imported yet" in html
    assert page.context["plan"]["errors"] == data.EXPECTED_ERRORS
    for error in data.EXPECTED_ERRORS:
        assert f"<td>{error['line']}</td><td>{error['field']}</td>" in html
    assert "5 bad lines" in html and 'name="_apply"' not in html
    assert not CourseMember.objects.exists() and not Operation.objects.exists()


def test_upload_preview_apply_then_the_roster_page(staff_client, course):
    page = upload(staff_client, course, data.good_csv())
    html = text(page)
    assert "123 to add, 0 to update, 0 unchanged" in html and 'name="_apply"' in html
    assert not CourseMember.objects.exists()  # the preview writes nothing

    apply = page.context["apply_form"].initial
    response = staff_client.post(url("roster", course), {**apply, "_apply": "Apply"})
    assert response.status_code == 302 and response.url == url("roster", course)
    assert CourseMember.objects.filter(course=course).count() == 123
    operation = Operation.objects.get(kind="SYNC_MEMBERS")
    assert operation.requested_by_user.username == "staff"

    data.links_made(course)
    page = staff_client.get(response.url)
    html = text(page)
    assert "Roster imported: 123 added, 0 updated, 0 unchanged." in html
    assert "Its sync to Discord and GitHub started" in html
    assert html.count("<tr>") >= 124  # the link sheet: a row per member
    assert "https://discord.gg/code3" in html and "https://github.example/org/os-group-3" in html
    assert 'value="Sync roster"' in html


def test_course_page_shows_the_roster_inline_and_the_way_to_the_roster_page(staff_client, course):
    CourseMember.objects.create(
        course=course,
        name="Ann Example",
        email="ann@example.edu",
        role="student",
        lab_group=course.lab_groups.get(number=2),
        github_state="pending",
    )
    CourseMember.objects.create(course=course, name="Gone Person", email="g@example.edu")
    CourseMember.objects.filter(name="Gone Person").update(removed_at="2026-09-01T00:00Z")
    page = staff_client.get(reverse("admin:courses_course_change", args=[course.pk]))
    html = text(page)
    assert "Roster (members and their GitHub state)" in html
    assert "Ann Example" in html and "Invited, not accepted yet" in html
    assert "Gone Person" not in html
    assert html.count(f'href="{url("roster", course)}"') == 2  # the button and the inline's link


def test_sync_button_starts_the_sync_then_says_busy(staff_client, course):
    response = staff_client.post(url("roster_sync", course), follow=True)
    assert "The roster&#x27;s sync started" in response.content.decode()
    assert Operation.objects.filter(kind="SYNC_MEMBERS").count() == 1
    response = staff_client.post(url("roster_sync", course), follow=True)
    assert "did not start" in response.content.decode() and "busy" in response.content.decode()
    assert Operation.objects.filter(kind="SYNC_MEMBERS").count() == 1
    assert staff_client.get(url("roster_sync", course)).status_code == 405


def test_downloads_and_remove(staff_client, course):
    upload_page = upload(staff_client, course, f"{data.HEADER}\nAnn,ann@example.edu,ann,,1\n")
    staff_client.post(
        url("roster", course), {**upload_page.context["apply_form"].initial, "_apply": "1"}
    )
    export = staff_client.get(url("roster_export", course))
    assert export["Content-Type"].startswith("text/csv")
    # With a byte order mark, for Excel; the roster's import reads it back as it is.
    assert export.content.startswith(b"\xef\xbb\xbf")
    assert export.content.decode("utf-8-sig").splitlines() == [
        data.HEADER,
        "Ann,ann@example.edu,ann,student,1",
    ]
    as_downloaded = SimpleUploadedFile("roster.csv", export.content, content_type="text/csv")
    again = staff_client.post(url("roster", course), {"file": as_downloaded})
    assert again.status_code == 200 and again.context["plan"]["errors"] == []
    links = staff_client.get(url("roster_links", course))
    assert links.content.startswith(b"\xef\xbb\xbf")
    assert (
        links.content.decode("utf-8-sig")
        .splitlines()[1]
        .startswith("Ann,ann@example.edu,ann,student,1,")
    )

    ann = CourseMember.objects.get()
    response = staff_client.post(url("roster_remove", course, ann.pk), follow=True)
    ann.refresh_from_db()
    assert ann.removed_at is not None
    # The import's sync is still pending (nothing ran it): the removal waits for the next sync.
    assert "Ann was taken off the roster" in response.content.decode()
    assert "next sync" in response.content.decode()


def test_an_unreadable_file_is_a_form_error(staff_client, course):
    page = staff_client.post(url("roster", course), {"content": "what,ever\n1,2\n"})
    assert page.status_code == 200 and "The first line must be the header" in text(page)
    workbook = SimpleUploadedFile("roster.xlsx", b"PK\x03\x04rest", content_type="application/zip")
    page = staff_client.post(url("roster", course), {"file": workbook})
    assert "not a CSV file" in text(page)
    page = staff_client.post(url("roster", course), {"content": ""})
    assert "Choose a file" in text(page)


def test_a_file_larger_than_any_roster_is_refused_unread(staff_client, course):
    too_large = data.HEADER + "\n" + "Ann,ann@example.edu,ann,,1\n" * 20_000  # ~540 KB
    file = SimpleUploadedFile("roster.csv", too_large.encode(), content_type="text/csv")
    page = staff_client.post(url("roster", course), {"file": file})
    assert page.status_code == 200 and "larger than 512 KiB" in text(page)
    assert not course.members.exists()


def test_viewers_see_the_roster_but_cannot_change_it(viewer_client, course):
    page = viewer_client.get(url("roster", course))
    assert page.status_code == 200
    html = text(page)
    assert "roster-upload" not in html and 'value="Sync roster"' not in html
    assert viewer_client.get(url("roster_links", course)).status_code == 200
    assert viewer_client.post(url("roster_sync", course)).status_code == 403
    assert (
        viewer_client.post(url("roster", course), {"content": data.good_csv()}).status_code == 403
    )
    assert not Operation.objects.exists() and not CourseMember.objects.exists()


def test_an_unknown_course_redirects_like_the_admin(staff_client):
    missing = "00000000-0000-4000-8000-000000000000"
    response = staff_client.get(reverse("admin:courses_course_roster", args=[missing]))
    assert response.status_code == 302
