"""The admin's big lists cost a fixed number of queries, whatever the size of the tables.

The data is made with bulk_create: 5,000 courses with their steps, and 200,000 audit rows.
"""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditLog
from courses.models import Course
from provisioning.models import ProvisioningStep
from provisioning.steps import STEPS

pytestmark = pytest.mark.django_db
COURSES_URL = reverse("admin:courses_course_changelist")
AUDIT_URL = reverse("admin:audit_auditlog_changelist")
STATUSES = itertools.cycle(Course.Status.values)
STEP_STATUSES = itertools.cycle(["COMPLETED", "COMPLETED", "FAILED", "PENDING", "SKIPPED"])
HTTP_STATUSES = itertools.cycle([200, 201, 204, 403, 404, 429, 502, None])


def make_courses(count: int, audit_rows: int, start: int = 0) -> list[Course]:
    """``count`` lectures with their five steps, and ``audit_rows`` calls spread over them."""
    courses = Course.objects.bulk_create(
        Course(name=f"Course {n}", semester=f"2026-{n % 4}", type="LECTURE", status=next(STATUSES))
        for n in range(start, start + count)
    )
    steps = STEPS["LECTURE"]
    ProvisioningStep.objects.bulk_create(
        (
            ProvisioningStep(course=course, name=name, order=order, status=next(STEP_STATUSES))
            for course in courses
            for order, name in enumerate(steps, 1)
        ),
        batch_size=5000,
    )
    # One call per course through the ORM, then the table doubles itself in SQL until it holds
    # ``audit_rows``: bulk_create alone takes half a minute for 200,000 rows on this machine.
    AuditLog.objects.bulk_create(
        (
            AuditLog(
                provider="github",
                method="GET",
                route="/repos/{owner}/{repo}",
                url="https://api.github.com/repos/org/repo",
                response_status=next(HTTP_STATUSES),
                duration_ms=n % 900,
                course=course,
                step=steps[n % len(steps)],
                attempt=1,
            )
            for n, course in enumerate(courses)
        ),
        batch_size=5000,
    )
    grow_audit_log(to=AuditLog.objects.count() + audit_rows - len(courses))
    return courses


def grow_audit_log(*, to: int) -> None:
    """Copy existing audit rows (new ids, same course and status spread) until there are ``to``."""
    columns = ", ".join(
        # Concrete fields always have a column (the stubs say str | None for all fields).
        field.column or ""
        for field in AuditLog._meta.concrete_fields
        if not field.primary_key
    )
    table = AuditLog._meta.db_table
    with connection.cursor() as cursor:
        while (have := AuditLog.objects.count()) < to:
            copy = f"SELECT {columns} FROM {table} ORDER BY id LIMIT %s"
            cursor.execute(f"INSERT INTO {table} ({columns}) {copy}", [min(have, to - have)])


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def test_course_list_and_audit_list_do_not_grow_with_the_tables(staff_client):
    courses = make_courses(10, audit_rows=100)
    some = courses[3].pk
    course_pages = [
        COURSES_URL,
        f"{COURSES_URL}?status__exact=FAILED",
        f"{COURSES_URL}?q=Course+3",
        f"{COURSES_URL}?o=5",  # sorted by progress
        f"{COURSES_URL}?semester=2026-1&type__exact=LECTURE",
    ]
    audit_pages = [
        f"{AUDIT_URL}?status_class=4xx",
        f"{AUDIT_URL}?course={some}",
        f"{AUDIT_URL}?step=CREATE_GITHUB_REPO&provider__exact=github",
        f"{AUDIT_URL}?status_class=none&o=-4",  # sorted by duration
    ]
    small = {url: queries(staff_client, url) for url in [*course_pages, *audit_pages]}
    small_audit_unfiltered = queries(staff_client, AUDIT_URL)

    make_courses(4_990, audit_rows=199_900, start=10)
    assert (Course.objects.count(), AuditLog.objects.count()) == (5_000, 200_000)

    big = {url: queries(staff_client, url) for url in [*course_pages, *audit_pages]}
    assert big == small
    assert max(big.values()) <= 12
    # Unfiltered, past the paginator's cap: PostgreSQL may spend one query on its estimate.
    assert small_audit_unfiltered <= queries(staff_client, AUDIT_URL) <= small_audit_unfiltered + 1
