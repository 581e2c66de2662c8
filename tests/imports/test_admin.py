"""The admin: upload -> plan page (nothing written) -> Apply -> the import's page with its rows."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from courses.models import Course
from imports.models import Import
from tests.admin_users import STAFF_PERMISSIONS

pytestmark = pytest.mark.django_db
UPLOAD = reverse("admin:imports_import_upload")
CSV = (
    "name,semester,type,groups,discordGuildId\n"
    "Algorithms,2026-fall,lecture,,\n"
    "Bad,2026-autumn,lecture,,\n"
)


@pytest.fixture
def importer(make_user) -> Client:
    client = Client()
    user = make_user("importer", *STAFF_PERMISSIONS, "imports.add_import", "imports.view_import")
    client.force_login(user)
    return client


def test_upload_plan_apply_and_the_import_page(
    importer, platforms, django_capture_on_commit_callbacks
):
    platforms.add_servers(1)
    assert importer.get(reverse("admin:imports_import_add")).url == UPLOAD
    assert importer.get(UPLOAD).status_code == 200

    upload = SimpleUploadedFile("semester.csv", CSV.encode(), content_type="text/csv")
    page = importer.post(UPLOAD, {"file": upload, "priority": "high"})
    assert page.status_code == 200
    html = " ".join(page.content.decode().split())
    assert "Nothing has been created yet" in html
    assert "<td>3</td><td>semester</td>" in html
    assert "1 needed, 1 available." in html and "5 GitHub writes" in html
    assert not Course.objects.exists() and not Import.objects.exists()

    apply = page.context["apply_form"].initial
    with django_capture_on_commit_callbacks(execute=True):
        response = importer.post(UPLOAD, {**apply, "all_or_nothing": "", "_apply": "Apply"})
    record = Import.objects.get()
    assert response.url == reverse("admin:imports_import_change", args=[record.id])
    assert Course.objects.get().priority == "high"
    assert record.created_by_user.username == "importer"

    page = importer.get(response.url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Completed" in html  # the import, and its course
    assert (
        "semester: " in html
        and reverse("admin:courses_course_change", args=[Course.objects.get().id]) in html
    )


def test_all_or_nothing_with_a_bad_row_offers_no_apply(importer):
    page = importer.post(UPLOAD, {"content": CSV, "priority": "normal", "all_or_nothing": "on"})
    assert page.status_code == 200
    assert page.context["blocked"] and 'name="_apply"' not in page.content.decode()


def test_an_unreadable_file_is_a_form_error(importer):
    page = importer.post(UPLOAD, {"content": "what,ever\n1,2\n", "priority": "normal"})
    assert page.status_code == 200
    assert "Unknown column" in page.content.decode()
    page = importer.post(UPLOAD, {"content": "", "priority": "normal"})
    assert "Choose a file" in page.content.decode()


def test_a_file_larger_than_any_import_is_refused_unread(importer):
    too_large = "name,semester,type,groups\n" + "Algorithms,2026-fall,lecture,\n" * 20_000
    file = SimpleUploadedFile("semester.csv", too_large.encode(), content_type="text/csv")
    page = importer.post(UPLOAD, {"file": file, "priority": "normal"})
    assert page.status_code == 200 and "larger than 512 KiB" in page.content.decode()
    assert not Import.objects.exists()


def test_staff_without_the_permission_cannot_import(staff_client):
    assert staff_client.get(UPLOAD).status_code == 403
    assert staff_client.post(UPLOAD, {"content": CSV, "priority": "normal"}).status_code == 403
