"""A course's JSON is written out by hand (CourseSerializer.to_representation, for speed): it
must say exactly what DRF's walk over the declared fields says, which the schema documents."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework import serializers

from courses.api.serializers import CourseSerializer
from courses.models import Course
from tests.factories import CourseFactory, LabGroupFactory

pytestmark = pytest.mark.django_db


def declared_fields_json(course: Course) -> dict:
    """What the fields declared on CourseSerializer give, through DRF's generic walk."""
    return serializers.ModelSerializer.to_representation(CourseSerializer(), course)


def test_a_laboratory_with_every_optional_field_set(settings):
    settings.TIME_ZONE = "Europe/Warsaw"  # DRF shows times in the current time zone
    course = CourseFactory(
        type=Course.Type.LABORATORY,
        discord_guild_id="123456789012345678",
        github_org="physics-dept",
        priority=Course.Priority.HIGH,
        status=Course.Status.COMPLETED,
        deleted_at=dt.datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=dt.UTC),
        archived_at=dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC),
    )
    LabGroupFactory(course=course, number=2, name="Tuesday")
    LabGroupFactory(course=course, number=1, name="Monday")

    body = CourseSerializer(course).data

    assert body == declared_fields_json(course)
    assert list(body) == list(CourseSerializer().fields)
    assert body["deletedAt"] == "2026-12-01T09:30:15.123456+01:00"
    assert body["githubOrg"] == "physics-dept"


def test_a_lecture_with_defaults(settings):
    settings.GITHUB_ORG = "uni-courses"
    course = CourseFactory()

    body = CourseSerializer(course).data

    assert body == declared_fields_json(course)
    assert body["labGroups"] == []
    assert body["discordGuildId"] is None
    assert body["githubOrg"] == "uni-courses"
    assert body["deletedAt"] is None and body["archivedAt"] is None


def test_a_list_page_says_the_same():
    courses = [CourseFactory(), LabGroupFactory().course]
    assert CourseSerializer(courses, many=True).data == [declared_fields_json(c) for c in courses]
