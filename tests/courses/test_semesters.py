"""One spelling of a semester, YYYY-<term>: common spellings normalized, anything else refused."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from api.services import api_key_create
from config.env import ConfigError, parse_terms
from courses.models import Course
from courses.semesters import SemesterError, semester_normalize
from courses.services import CourseAlreadyExistsError, course_create, course_validate
from tests.factories import CourseFactory


@pytest.mark.parametrize(
    "spelling",
    ["2026-fall", "Fall 2026", "2026-FALL", "fall-2026", "2026 fall", "2026_fall", " FALL  2026 "],
)
def test_common_spellings_become_one(spelling):
    assert semester_normalize(spelling) == "2026-fall"


@pytest.mark.parametrize(
    "value", ["2026-autumn", "2026", "fall", "2026-fall-2027", "fall-spring", "26-fall", "", "ü"]
)
def test_anything_else_is_refused_showing_the_form_and_the_terms(value):
    with pytest.raises(SemesterError) as error:
        semester_normalize(value)

    message = str(error.value)
    assert "YYYY-<term>" in message
    assert "terms: spring, summer, fall, winter" in message


def test_the_terms_come_from_the_setting(settings):
    settings.SEMESTER_TERMS = ("autumn", "spring")

    assert semester_normalize("Autumn 2026") == "2026-autumn"
    with pytest.raises(SemesterError, match="terms: autumn, spring"):
        semester_normalize("2026-fall")


def test_the_setting_is_parsed_strictly():
    assert parse_terms("Spring, fall ,winter") == ("spring", "fall", "winter")
    for bad in ("fall,fall", "fall-1", "", "été"):
        with pytest.raises(ConfigError):
            parse_terms(bad)


@pytest.mark.django_db
def test_the_service_stores_the_normalized_spelling():
    course = course_create(name="Algebra", semester="Fall 2026", type="LECTURE")

    assert Course.objects.get(id=course.id).semester == "2026-fall"
    assert course.slug == "2026-fall-algebra"


@pytest.mark.django_db
def test_another_spelling_of_a_taken_name_and_semester_is_the_same_course():
    existing = CourseFactory(name="Algebra", semester="2026-fall")

    with pytest.raises(CourseAlreadyExistsError) as error:
        course_create(name="Algebra", semester="2026_FALL", type="LECTURE")
    assert error.value.existing_id == existing.id


@pytest.mark.django_db
def test_the_admin_form_gets_the_same_message():
    with pytest.raises(ValidationError) as error:
        course_validate(name="Algebra", semester="2026-autumn", type="LECTURE")

    assert "YYYY-<term>" in error.value.message_dict["semester"][0]


@pytest.mark.django_db
def test_the_api_answers_the_normalized_semester_or_a_400():
    _key, raw = api_key_create(name="LMS")
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=raw)
    body = {"name": "Algebra", "type": "LECTURE"}

    created = api.post("/courses", {**body, "semester": "FALL-2026"}, format="json")
    refused = api.post("/courses", {**body, "semester": "2026-autumn"}, format="json")

    assert created.status_code == 202, created.json()
    assert created.json()["semester"] == "2026-fall"
    assert refused.status_code == 400
    assert "YYYY-<term>" in refused.json()["details"]["semester"][0]


@pytest.mark.django_db
def test_the_cli_refuses_without_a_traceback():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=r"YYYY-<term>"):
        call_command("provision_course", name="Logic", semester="Q1 2026", type="lecture")
    assert not Course.objects.exists()
