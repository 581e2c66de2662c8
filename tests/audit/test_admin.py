"""The audit log admin: read-only for everyone, superusers included; readable; filterable."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from audit.admin import CappedCountPaginator
from audit.models import AuditLog
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db
LIST_URL = reverse("admin:audit_auditlog_changelist")


def entry(**fields: object) -> AuditLog:
    values = {
        "provider": "github",
        "method": "PUT",
        "route": "/repos/{owner}/{repo}/branches/{branch}/protection",
        "url": "https://api.github.com/repos/org/repo/branches/main/protection",
        "response_status": 200,
        "duration_ms": 42,
    }
    values.update(fields)
    return AuditLog.objects.create(**values)


# --- nobody writes the audit log --------------------------------------------------------------


def test_a_superuser_cannot_add_change_or_delete_entries(admin_client):
    row = entry(step="APPLY_BRANCH_PROTECTION")
    change_url = reverse("admin:audit_auditlog_change", args=[row.pk])
    delete_url = reverse("admin:audit_auditlog_delete", args=[row.pk])

    assert admin_client.get(reverse("admin:audit_auditlog_add")).status_code == 403
    assert admin_client.post(reverse("admin:audit_auditlog_add"), {}).status_code == 403
    assert admin_client.post(change_url, {"route": "/forged", "step": "X"}).status_code == 403
    assert admin_client.get(delete_url).status_code == 403
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    # Nor in bulk: the list has no actions at all.
    listing = admin_client.get(LIST_URL)
    assert listing.context["action_form"] is None
    row.refresh_from_db()
    assert (row.route, row.step) == (entry().route, "APPLY_BRANCH_PROTECTION")
    assert AuditLog.objects.count() == 2


def test_a_superuser_may_read_an_entry_on_a_page_without_save_buttons(admin_client):
    row = entry()

    response = admin_client.get(reverse("admin:audit_auditlog_change", args=[row.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="_save"' not in html
    assert "deletelink" not in html


def test_someone_who_is_not_staff_is_refused(make_user):
    make_user("student", "audit.view_auditlog", is_staff=False)
    client = Client()

    # The admin's login form refuses the password of a non-staff account...
    response = client.post(
        reverse("admin:login"),
        {"username": "student", "password": "correct horse battery staple"},
    )
    assert response.status_code == 200
    assert "correct username and password for a staff account" in response.content.decode()
    # ...and a session logged in elsewhere does not open the admin either.
    client.force_login(User.objects.get(username="student"))
    response = client.get(LIST_URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_inactive_staff_are_refused(make_user):
    make_user("former", "audit.view_auditlog", is_active=False)

    response = Client().post(
        reverse("admin:login"), {"username": "former", "password": "correct horse battery staple"}
    )

    assert "correct username and password for a staff account" in response.content.decode()


def test_staff_without_the_view_permission_are_refused(make_user):
    client = Client()
    client.force_login(make_user("courses-only", "courses.view_course"))

    assert client.get(LIST_URL).status_code == 403


# --- reading it -------------------------------------------------------------------------------


def test_request_and_response_are_shown_as_formatted_escaped_json(staff_client):
    row = entry(
        request_body={"name": "<script>alert(1)</script>", "private": True},
        response_excerpt='{"message": "Upgrade to GitHub Pro", "documentation_url": "https://x"}',
    )

    html = staff_client.get(reverse("admin:audit_auditlog_change", args=[row.pk])).content.decode()

    assert (
        '<pre class="json">{\n  &quot;name&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;'
        "&quot;,\n  &quot;private&quot;: true\n}</pre>"
    ) in html
    assert "<script>alert(1)" not in html
    assert "&quot;message&quot;: &quot;Upgrade to GitHub Pro&quot;" in html


def test_a_cut_response_excerpt_is_shown_as_it_came(staff_client):
    row = entry(response_excerpt='{"message": "cut he', response_status=None, error="timeout")

    html = staff_client.get(reverse("admin:audit_auditlog_change", args=[row.pk])).content.decode()

    assert '<pre class="json">{&quot;message&quot;: &quot;cut he</pre>' in html
    assert '<span class="status-badge status-failure">no response</span>' in html


def test_the_list_shows_status_class_duration_and_course(staff_client):
    course = CourseFactory(name="Compilers")
    entry(course=course, response_status=201, duration_ms=87)
    entry(response_status=403)
    entry(response_status=503)

    html = staff_client.get(LIST_URL).content.decode()

    assert '<span class="status-badge status-success">201</span>' in html
    assert '<span class="status-badge status-warning">403</span>' in html
    assert '<span class="status-badge status-failure">503</span>' in html
    assert "87 ms" in html
    course_url = reverse("admin:courses_course_change", args=[course.pk])
    assert f'<a href="{course_url}">Compilers (2026-fall)</a>' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status_class=2xx", {"ok", "created"}),
        ("status_class=4xx", {"forbidden"}),
        ("status_class=5xx", {"unavailable"}),
        ("status_class=none", {"dropped"}),
        ("provider__exact=discord", {"created"}),
        ("step=CREATE_GITHUB_REPO", {"forbidden", "dropped"}),
        ("status_class=4xx&step=CREATE_GITHUB_REPO", {"forbidden"}),
    ],
)
def test_filters(staff_client, query, expected):
    entry(task_id="ok", response_status=200)
    entry(task_id="created", response_status=201, provider="discord")
    entry(task_id="forbidden", response_status=403, step="CREATE_GITHUB_REPO")
    entry(task_id="unavailable", response_status=503)
    entry(task_id="dropped", response_status=None, step="CREATE_GITHUB_REPO")

    response = staff_client.get(f"{LIST_URL}?{query}")

    assert {row.task_id for row in response.context["cl"].result_list} == expected


def test_the_course_filter_takes_any_course_and_names_it(staff_client):
    old = CourseFactory(name="Old course")
    CourseFactory.create_batch(12)  # more recent than "Old course": not offered in the sidebar
    entry(course=old, task_id="old")
    entry(task_id="other")

    response = staff_client.get(f"{LIST_URL}?course={old.pk}")

    assert [row.task_id for row in response.context["cl"].result_list] == ["old"]
    [course_filter] = [f for f in response.context["cl"].filter_specs if f.title == "course"]
    assert (str(old.pk), "Old course (2026-fall)") in course_filter.lookup_choices
    assert len(course_filter.lookup_choices) == 11


def test_a_malformed_course_id_is_the_admins_usual_invalid_filter(staff_client):
    CourseFactory()
    response = staff_client.get(f"{LIST_URL}?course=not-a-uuid")

    assert response.status_code == 302
    assert response.url.endswith("?e=1")


def test_past_the_cap_the_count_says_so(staff_client, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    for _ in range(5):
        entry()

    response = staff_client.get(f"{LIST_URL}?provider__exact=github")

    assert response.context["cl"].result_count == 3
    assert "more than 3 audit logs" in " ".join(response.content.decode().split())
