"""``course_validate`` rule by rule, each one both ways: what a course may be.

Semesters and repository-name clashes have their own files (test_semesters.py, test_clashes.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from courses.models import MAX_LAB_GROUPS, Course
from courses.services import LabGroupInput, course_validate
from tests.factories import CourseFactory, DiscordServerFactory

pytestmark = pytest.mark.django_db

GUILD = "123456789012345678"


def groups(*names: str) -> list[LabGroupInput]:
    return [LabGroupInput(name=name, number=number) for number, name in enumerate(names, 1)]


def validate(**changes: Any) -> None:
    course: dict[str, Any] = {"name": "Algorithms", "semester": "2026-fall", "type": "LECTURE"}
    course_validate(**{**course, **changes})


def errors_of(**changes: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        validate(**changes)
    return raised.value.message_dict


def laboratory(lab_groups: list[LabGroupInput]) -> dict[str, Any]:
    return {"type": "LABORATORY", "lab_groups": lab_groups}


# Each rule: a course it accepts, and the nearest course it refuses, with the field and message.
RULES = [
    pytest.param({"name": "A"}, {"name": "   "}, "name", "1 to 100 characters", id="name-empty"),
    pytest.param(
        {"name": "x" * 100}, {"name": "x" * 101}, "name", "1 to 100 characters", id="name-long"
    ),
    pytest.param(
        {"name": "C++ & C#"}, {"name": "+++"}, "name", "at least one letter or digit", id="alnum"
    ),
    pytest.param(
        {"name": "Café Übung"},
        {"name": "Algo\u202erithms"},  # a right-to-left override
        "name",
        "printable text only",
        id="name-clean-text",
    ),
    pytest.param(
        laboratory(groups("Group A")),
        laboratory(groups("Group\x00A")),
        "lab_groups.0.name",
        "printable text only",
        id="group-clean-text",
    ),
    pytest.param(
        {"type": "LABORATORY", "lab_groups": groups("A")},
        {"type": "SEMINAR"},
        "type",
        "Choose one of",
        id="type",
    ),
    pytest.param(
        {"type": "LECTURE"},
        {"type": "LECTURE", "lab_groups": groups("A")},
        "lab_groups",
        "A lecture has no lab groups.",
        id="lecture-groups",
    ),
    pytest.param(
        laboratory(groups(*(f"G{n}" for n in range(MAX_LAB_GROUPS)))),
        laboratory([]),
        "lab_groups",
        f"1 to {MAX_LAB_GROUPS} lab groups",
        id="groups-none",
    ),
    pytest.param(
        laboratory(groups("A")),
        laboratory(groups(*(f"G{n}" for n in range(MAX_LAB_GROUPS + 1)))),
        "lab_groups",
        f"1 to {MAX_LAB_GROUPS} lab groups",
        id="groups-too-many",
    ),
    pytest.param(
        laboratory([LabGroupInput(name="A", number=1), LabGroupInput(name="B", number=999)]),
        laboratory([LabGroupInput(name="A", number=1), LabGroupInput(name="B", number=1000)]),
        "lab_groups",
        "whole numbers from 1 to 999",
        id="number-range",
    ),
    pytest.param(
        laboratory([LabGroupInput(name="A", number=1)]),
        laboratory([LabGroupInput(name="A", number=True)]),  # a bool is no group number
        "lab_groups",
        "whole numbers from 1 to 999",
        id="number-bool",
    ),
    pytest.param(
        laboratory([LabGroupInput(name="A", number=1), LabGroupInput(name="B", number=2)]),
        laboratory([LabGroupInput(name="A", number=2), LabGroupInput(name="B", number=2)]),
        "lab_groups",
        "numbers must be unique",
        id="number-unique",
    ),
    pytest.param(
        laboratory(groups("y" * 100)),
        laboratory(groups("y" * 101)),
        "lab_groups",
        "1 to 100 characters",
        id="group-name-length",
    ),
    pytest.param(
        laboratory(groups("Group A", "Group B")),
        laboratory(groups("Group A", " group a ")),  # compared trimmed and case-folded
        "lab_groups",
        "names must be unique",
        id="group-name-unique",
    ),
    pytest.param(
        {"discord_guild_id": "1" * 17},
        {"discord_guild_id": "1" * 16},
        "discord_guild_id",
        "snowflake of 17 to 20 digits",
        id="snowflake-short",
    ),
    pytest.param(
        {"discord_guild_id": "9" * 19},
        {"discord_guild_id": "12345678901234567x"},
        "discord_guild_id",
        "snowflake of 17 to 20 digits",
        id="snowflake-digits",
    ),
    pytest.param(
        {"discord_guild_id": str(2**64 - 1)},
        {"discord_guild_id": str(2**64)},  # 20 digits, but no 64-bit id
        "discord_guild_id",
        "snowflake of 17 to 20 digits",
        id="snowflake-64-bit",
    ),
]


@pytest.mark.parametrize(("accepted", "refused", "field", "message"), RULES)
def test_each_rule_accepts_and_refuses(accepted, refused, field, message):
    validate(**accepted)

    errors = errors_of(**refused)

    assert list(errors) == [field], errors  # one rule broken, one field named
    assert any(message in text for text in errors[field]), errors


def test_every_broken_rule_is_reported_at_once():
    errors = errors_of(
        name="",
        type="LABORATORY",
        lab_groups=[LabGroupInput(name="A", number=0), LabGroupInput(name="a", number=0)],
        discord_guild_id="42",
    )

    assert set(errors) == {"name", "lab_groups", "discord_guild_id"}
    assert len(errors["lab_groups"]) == 3  # range, unique numbers, unique names


def test_a_server_another_course_was_created_on_is_refused():
    other = CourseFactory(name="Databases", discord_guild_id=GUILD)

    validate(discord_guild_id="1" * 18)  # another server is free
    errors = errors_of(discord_guild_id=GUILD)

    assert list(errors) == ["discord_guild_id"]
    assert str(other.id) in errors["discord_guild_id"][0]


def test_a_pool_server_claimed_by_another_course_is_refused():
    holder = CourseFactory(name="Databases")
    DiscordServerFactory(guild_id=GUILD, course=holder)
    DiscordServerFactory(guild_id="2" * 18)  # in the pool, unclaimed

    validate(discord_guild_id="2" * 18)
    errors = errors_of(discord_guild_id=GUILD)

    assert list(errors) == ["discord_guild_id"]
    assert str(holder.id) in errors["discord_guild_id"][0]


def test_a_valid_course_is_not_created_by_validating_it():
    validate(**laboratory(groups("A", "B")))

    assert not Course.objects.exists()
