"""The course add form: validated by the API's service, created by it, provisioned after commit."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from courses.models import Course
from courses.services import LabGroupInput, course_validate
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db
ADD_URL = reverse("admin:courses_course_add")


def post_course(
    client: Client, groups: tuple[tuple[int, str], ...] = (), rows: int = 3, **fields: str
) -> Any:
    """Submit the add form as a browser does: every offered row, numbered, names typed in."""
    data = {
        "name": "Operating Systems",
        "semester": "2026-fall",
        "type": "LABORATORY",
        "discord_guild_id": "",
        "_save": "Save",
        **fields,
    }
    total = max(rows, len(groups))
    data.update(
        {
            "lab_groups-TOTAL_FORMS": str(total),
            "lab_groups-INITIAL_FORMS": "0",
            "lab_groups-MIN_NUM_FORMS": "0",
            "lab_groups-MAX_NUM_FORMS": "1000",
        }
    )
    for index in range(total):
        number, name = groups[index] if index < len(groups) else (index + 1, "")
        data[f"lab_groups-{index}-number"] = str(number)
        data[f"lab_groups-{index}-name"] = name
    return client.post(ADD_URL, data)


def service_errors(groups: tuple[tuple[int, str], ...] = (), **fields: str) -> dict:
    """What the API's validation says about the same input."""
    values = {"name": "Operating Systems", "semester": "2026-fall", "type": "LABORATORY"}
    values.update(fields)
    try:
        course_validate(
            name=values["name"],
            semester=values["semester"],
            type=values["type"],
            lab_groups=[LabGroupInput(name=name, number=number) for number, name in groups],
            discord_guild_id=values.get("discord_guild_id", ""),
        )
    except ValidationError as exc:
        return exc.message_dict
    return {}


def form_errors(response: Any) -> dict[str, list[str]]:
    """The add page's errors: the course form's per field, the groups' under ``lab_groups``."""
    assert response.status_code == 200, "expected the form again, with errors"
    errors = {
        field: list(messages)
        for field, messages in response.context["adminform"].form.errors.items()
    }
    [groups] = response.context["inline_admin_formsets"]
    if groups.formset.non_form_errors():
        errors["lab_groups"] = list(groups.formset.non_form_errors())
    return errors


def test_add_page_offers_numbered_group_rows(staff_client):
    response = staff_client.get(ADD_URL)

    assert response.status_code == 200
    [groups] = response.context["inline_admin_formsets"]
    assert [form.initial.get("number") for form in groups.formset.forms] == [1, 2, 3]
    # The course's own fields only: status, run token and so on are the system's.
    assert list(response.context["adminform"].form.fields) == [
        "name",
        "semester",
        "type",
        "discord_guild_id",
        "github_org",
        "priority",
    ]


def test_creating_a_laboratory_goes_through_the_service_and_enqueues_on_commit(
    staff_client, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_course(staff_client, groups=((1, "Monday"), (2, "Tuesday")))

    course = Course.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:courses_course_change", args=[course.pk])
    assert list(course.lab_groups.values_list("number", "name")) == [(1, "Monday"), (2, "Tuesday")]
    # The steps of a laboratory, planned by the service, all pending until the task runs.
    assert course.steps.count() == 6
    assert set(course.steps.values_list("status", flat=True)) == {"PENDING"}
    assert len(callbacks) == 1, "provisioning is enqueued once, after the commit"
    entry = LogEntry.objects.get()
    assert (entry.action_flag, entry.object_id, entry.user_id) == (
        ADDITION,
        str(course.pk),
        staff.pk,
    )


def test_creating_a_lecture_ignores_the_untouched_group_rows(staff_client):
    response = post_course(staff_client, type="LECTURE")

    assert response.status_code == 302
    course = Course.objects.get()
    assert course.type == "LECTURE"
    assert not course.lab_groups.exists()


@pytest.mark.parametrize(
    ("groups", "fields"),
    [
        pytest.param((), {}, id="laboratory-without-groups"),
        pytest.param(((1, "Monday"),), {"type": "LECTURE"}, id="lecture-with-groups"),
        pytest.param(((1, "Monday"), (2, "MONDAY")), {}, id="group-names-differ-in-case-only"),
        pytest.param(((1, "Monday"), (1, "Tuesday")), {}, id="same-group-number"),
        pytest.param(((1, "Monday"),), {"semester": "-fall"}, id="bad-semester"),
        pytest.param(((1, "Monday"),), {"discord_guild_id": "1234"}, id="bad-guild-id"),
        pytest.param(
            ((1, "Monday"), (1, "monday")), {"semester": "!"}, id="several-problems-at-once"
        ),
    ],
)
def test_the_form_says_what_the_api_says(staff_client, groups, fields):
    expected = service_errors(groups, **fields)
    assert expected, "each case is invalid for the service"

    response = post_course(staff_client, groups=groups, **fields)

    assert form_errors(response) == expected
    assert not Course.objects.exists()


def test_a_server_already_used_by_another_course_is_refused(staff_client):
    other = CourseFactory(discord_guild_id="123456789012345678")

    response = post_course(
        staff_client, groups=((1, "Monday"),), discord_guild_id="123456789012345678"
    )

    assert form_errors(response) == {
        "discord_guild_id": [f"This Discord server is already used by course {other.id}."]
    }


def test_a_course_that_already_exists_is_refused(staff_client):
    CourseFactory(name="Operating Systems", semester="2026-fall")

    response = post_course(staff_client, groups=((1, "Monday"),))

    assert form_errors(response) == {
        "__all__": ["Course with this Name and Semester already exists."]
    }
    assert Course.objects.count() == 1


def test_a_laboratory_whose_repository_another_course_owns_is_refused(staff_client):
    other = CourseFactory(name="Grp2 Group 1", semester="2026-fall", slug="2026-fall-grp2-group-1")

    response = post_course(staff_client, name="Grp2", groups=((1, "Monday"),))

    [message] = form_errors(response)["lab_groups"]
    assert f"Course {other.id}" in message
    assert "2026-fall-grp2-group-1" in message
    assert Course.objects.count() == 1


def test_another_spelling_of_the_semester_is_the_same_course(staff_client):
    other = CourseFactory(name="Operating Systems", semester="2026-fall")

    response = post_course(staff_client, semester="Fall 2026", groups=((1, "Monday"),))

    assert form_errors(response) == {
        "lab_groups": [f"A course with this name and semester already exists: {other.id}."]
    }
    assert Course.objects.count() == 1


def test_a_row_that_does_not_parse_is_reported_on_its_row(staff_client):
    response = post_course(staff_client, groups=((1, "Monday"), ("two", "Tuesday")))

    assert response.status_code == 200
    [groups] = response.context["inline_admin_formsets"]
    assert groups.formset.forms[1].errors == {"number": ["Enter a whole number."]}
    assert not groups.formset.non_form_errors()
    assert not Course.objects.exists()


def test_staff_without_the_add_permission_cannot_open_the_form(viewer_client):
    assert viewer_client.get(ADD_URL).status_code == 403
