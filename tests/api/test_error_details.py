"""One ``details`` shape for every 400: field path -> list of messages, nested fields as dotted
paths, the body's own problems under ``body``; chunked bodies are refused, never read as empty."""

from __future__ import annotations

import json

import pytest

from api.exceptions import field_errors
from courses.models import Course
from tests.api.helpers import assert_error, laboratory_body, lecture_body
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db


def _is_field_map(details: object) -> bool:
    return isinstance(details, dict) and all(
        isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages)
        for messages in details.values()
    )


@pytest.mark.parametrize("raw", ["null", "[]", '"course"', "{", ""])
def test_body_problems_are_under_body(api, raw):
    details = assert_error(api.post("/courses", raw, content_type="application/json"), 400)[
        "details"
    ]

    assert _is_field_map(details), details
    assert list(details) in (["body"], ["name", "semester", "type"]), details  # "" is {}


def test_nested_errors_are_dotted_paths(api):
    body = laboratory_body(
        labGroups=[
            {"name": "A", "number": 1},
            {"name": 7, "number": "2"},
            {"name": "C", "number": 3, "room": "B12"},
            "D",
        ]
    )

    response = api.post("/courses", body, format="json")

    details = assert_error(response, 400, contains="labGroups.1.number")["details"]
    assert _is_field_map(details), details
    assert set(details) == {
        "labGroups.1.name",
        "labGroups.1.number",
        "labGroups.2.room",
        "labGroups.3",
    }


def test_service_errors_use_the_same_shape(api):
    body = laboratory_body(labGroups=[{"name": "A", "number": 1}, {"name": "a", "number": 1}])

    details = assert_error(api.post("/courses", body, format="json"), 400)["details"]

    assert _is_field_map(details)
    assert set(details) == {"labGroups"}


def test_query_and_header_errors_too(api):
    assert _is_field_map(assert_error(api.get("/courses?page=x"), 400)["details"])
    response = api.post("/courses", lecture_body(), format="json", HTTP_IDEMPOTENCY_KEY="a b")
    assert assert_error(response, 400)["details"] == {
        "Idempotency-Key": ["Give 1 to 255 visible ASCII characters (no spaces)."]
    }


def test_field_errors_flattens_any_tree():
    tree = {
        "non_field_errors": ["Whole body."],
        "labGroups": {0: {"number": ["Bad."]}, 2: {"non_field_errors": ["Not an object."]}},
        "name": ["Too long."],
    }

    assert field_errors(tree) == {
        "body": ["Whole body."],
        "labGroups.0.number": ["Bad."],
        "labGroups.2": ["Not an object."],
        "name": ["Too long."],
    }
    assert field_errors(["Top."]) == {"body": ["Top."]}


def test_the_schema_documents_the_details_shape(api):
    schema = api.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    create = schema["paths"]["/courses"]["post"]["responses"]

    ref = create["400"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    details = schema["components"]["schemas"][ref]["properties"]["details"]
    assert details["type"] == "object"
    assert details["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    assert "labGroups.0.number" in details["description"] and "body" in details["description"]


def test_chunked_bodies_are_refused_with_411_not_read_as_empty(api):
    body = json.dumps(lecture_body()).encode()

    response = api.post(
        "/courses", body, content_type="application/json", HTTP_TRANSFER_ENCODING="chunked"
    )

    assert_error(response, 411, contains="Content-Length")
    assert not Course.objects.exists()


def test_a_body_announced_too_large_is_413_before_it_is_read(api, settings):
    settings.API_MAX_BODY_BYTES = 1000

    response = api.post("/courses", lecture_body(), format="json", CONTENT_LENGTH=str(1_000_000))

    assert_error(response, 413, contains="1000 bytes")


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/courses", "application/json"),
        ("/imports", "text/csv"),  # the CSV bodies read the same bounded way
        ("/courses/{course}/members", "text/csv"),
    ],
)
def test_a_body_that_stops_arriving_is_408(api, monkeypatch, path, content_type):
    # What gunicorn's client timeout (config/gunicorn.py) raises while the body is read.
    from django.core.handlers.wsgi import LimitedStream

    def timed_out(self, *args):
        raise TimeoutError("timed out")

    monkeypatch.setattr(LimitedStream, "read", timed_out)
    body = json.dumps(lecture_body()) if content_type == "application/json" else "name\nx\n"

    course = CourseFactory()

    response = api.generic("POST", path.format(course=course.id), body, content_type=content_type)

    assert_error(response, 408, contains="did not arrive in time")
