"""Validation: precise messages per camelCase field, from the same service as the admin and the
CLI; unknown fields, wrong types, bad JSON, wrong content types and huge bodies are 4xx."""

from __future__ import annotations

import json

import pytest

from courses.models import Course
from tests.api.helpers import assert_error, laboratory_body, lecture_body
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db


def post(api, body, **kwargs):
    return api.post("/courses", body, format="json", **kwargs)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (lecture_body(name=""), "name", "1 to 100 characters"),
        (lecture_body(name="   "), "name", "1 to 100 characters"),
        (lecture_body(name="x" * 101), "name", "1 to 100 characters"),
        (lecture_body(semester="fall 2026!"), "semester", "as YYYY-<term>"),
        (lecture_body(semester="-2026"), "semester", "terms: spring, summer, fall, winter"),
        (lecture_body(type="SEMINAR"), "type", "Choose one of LECTURE, LABORATORY"),
        (lecture_body(labGroups=[{"name": "A", "number": 1}]), "labGroups", "no lab groups"),
        (laboratory_body(groups=0), "labGroups", "1 to 50 lab groups"),
        (laboratory_body(groups=51), "labGroups", "1 to 50 lab groups"),
        (
            laboratory_body(labGroups=[{"name": "A", "number": 0}]),
            "labGroups",
            "from 1 to 999",
        ),
        (
            laboratory_body(labGroups=[{"name": "A", "number": -3}]),
            "labGroups",
            "from 1 to 999",
        ),
        (
            laboratory_body(labGroups=[{"name": "A", "number": 2}, {"name": "B", "number": 2}]),
            "labGroups",
            "numbers must be unique",
        ),
        (
            laboratory_body(labGroups=[{"name": "A", "number": 1}, {"name": " a ", "number": 2}]),
            "labGroups",
            "names must be unique",
        ),
        (
            laboratory_body(labGroups=[{"name": "", "number": 1}]),
            "labGroups",
            "1 to 100 characters",
        ),
        (lecture_body(discordGuildId="12345"), "discordGuildId", "snowflake of 17 to 20 digits"),
        (lecture_body(discordGuildId="abcdefghijklmnopq"), "discordGuildId", "snowflake"),
    ],
)
def test_service_rules_are_400_with_the_services_message(api, body, field, words):
    response = post(api, body)

    details = assert_error(response, 400, contains=words)["details"]
    assert field in details
    assert any(words in message for message in details[field]), details
    assert not Course.objects.exists()


def test_the_same_rules_as_the_admin_and_the_cli_every_error_at_once(api):
    body = {"name": "", "semester": "!", "type": "LECTURE", "discordGuildId": "1"}

    details = assert_error(post(api, body), 400)["details"]

    assert set(details) == {"name", "semester", "discordGuildId"}


def test_a_server_used_by_another_course_is_409_naming_it(api):
    other = CourseFactory(discord_guild_id="123456789012345678")

    response = post(api, lecture_body(discordGuildId="123456789012345678"))

    body = assert_error(response, 409, contains="already used by course")
    assert body["details"] == {"existingId": str(other.id)}


def test_same_name_and_semester_is_409_naming_the_existing_course(api):
    existing = CourseFactory(name="Algebra", semester="2026-fall")

    response = post(api, lecture_body(name=" Algebra ", semester="2026-fall"))

    body = assert_error(response, 409, contains=str(existing.id))
    assert body["details"] == {"existingId": str(existing.id)}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**lecture_body(), "teacher": "me"}, "teacher"),
        ({**lecture_body(), "lab_groups": []}, "lab_groups"),
    ],
)
def test_unknown_fields_are_rejected(api, body, field):
    details = assert_error(post(api, body), 400, contains="Unknown field")["details"]
    assert details == {field: ["Unknown field."]}


def test_unknown_fields_in_a_lab_group_are_rejected(api):
    body = laboratory_body(labGroups=[{"name": "A", "number": 1, "room": "B12"}])

    details = assert_error(post(api, body), 400)["details"]

    assert details == {"labGroups.0.room": ["Unknown field."]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (lecture_body(name=42), "name"),
        (lecture_body(semester=["2026"]), "semester"),
        (lecture_body(type=None), "type"),
        (lecture_body(discordGuildId=123456789012345678), "discordGuildId"),
        (laboratory_body(labGroups="Group 1"), "labGroups"),
        (laboratory_body(labGroups=[{"name": "A", "number": "1"}]), "labGroups"),
        (laboratory_body(labGroups=[{"name": "A", "number": 1.0}]), "labGroups"),
        (laboratory_body(labGroups=[{"name": "A", "number": True}]), "labGroups"),
        (laboratory_body(labGroups=["A"]), "labGroups"),
    ],
)
def test_wrong_json_types_are_400_not_coerced(api, body, field):
    details = assert_error(post(api, body), 400)["details"]
    assert any(path == field or path.startswith(f"{field}.") for path in details), details


@pytest.mark.parametrize("missing", ["name", "semester", "type"])
def test_required_fields(api, missing):
    body = lecture_body()
    del body[missing]

    details = assert_error(post(api, body), 400, contains="required")["details"]

    assert details == {missing: ["This field is required."]}


@pytest.mark.parametrize(
    "value", ["nul\x00byte", "lone \ud800 surrogate"], ids=["nul", "surrogate"]
)
def test_characters_a_database_cannot_store_are_400(api, value):
    raw = json.dumps(lecture_body(name=value))  # \u0000 and \ud800 escapes

    response = api.post("/courses", raw, content_type="application/json")

    assert_error(response, 400)


@pytest.mark.parametrize(
    "raw",
    ["{", "{'name': 1}", "", "null", "[]", "[1, 2]", '"course"', "NaN", '{"name": NaN}', "1e999"],
)
def test_malformed_or_non_object_json_is_400(api, raw):
    response = api.post("/courses", raw, content_type="application/json")

    assert_error(response, 400)


def test_deeply_nested_json_is_400_not_a_crash(api):
    raw = "[" * 30_000 + "]" * 30_000

    assert_error(api.post("/courses", raw, content_type="application/json"), 400)


def test_invalid_utf8_is_400(api):
    response = api.post("/courses", b'{"name": "\xff\xfe"}', content_type="application/json")

    assert_error(response, 400)


def test_unknown_charset_is_read_as_utf8_not_a_crash(api):
    response = api.post("/courses", b"{}", content_type="application/json; charset=no-such-charset")

    assert_error(response, 400, contains="required")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_wrong_content_type_is_415(api, content_type):
    response = api.post("/courses", "name=x", content_type=content_type)

    assert_error(response, 415, contains="Unsupported media type")


def test_body_over_the_limit_is_413(api, settings):
    body = laboratory_body(groups=1, name="x" * (settings.API_MAX_BODY_BYTES + 1))

    response = post(api, body)

    assert_error(response, 413, contains=str(settings.API_MAX_BODY_BYTES))
    assert not Course.objects.exists()


def test_body_limit_is_configurable(api, settings):
    settings.API_MAX_BODY_BYTES = 50

    assert_error(post(api, lecture_body()), 413)


def test_biggest_real_course_fits_the_default_limit(api):
    body = laboratory_body(
        groups=50,
        name="n" * 100,
        labGroups=[{"name": f"{n:03d}" + "g" * 97, "number": n} for n in range(1, 51)],
    )

    assert post(api, body).status_code == 202
