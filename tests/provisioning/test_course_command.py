"""``manage.py course``: rebind, add-group, rename and operations, thin over the services."""

from __future__ import annotations

import json
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from courses.models import Course

# transaction=True: the services enqueue on commit, which a test inside a transaction never reaches.
pytestmark = pytest.mark.django_db(transaction=True)


def course_cmd(*args: str) -> str:
    out = StringIO()
    call_command("course", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def laboratory(platforms, provision) -> Course:
    platforms.add_servers(1)
    return provision(name="Systems", type="LABORATORY", groups=("Alpha",))


def test_add_group_numbers_after_the_last_and_waits(laboratory):
    out = course_cmd(
        "add-group", str(laboratory.id), "--group", "Beta", "--group", "Gamma", "--wait"
    )
    assert "ADD_GROUPS COMPLETED" in out
    assert list(laboratory.lab_groups.values_list("number", "name")) == [
        (1, "Alpha"),
        (2, "Beta"),
        (3, "Gamma"),
    ]


def test_rename_and_operations_json(laboratory):
    course_cmd("rename", str(laboratory.id), "--name", "Systems II")
    operations = json.loads(course_cmd("operations", str(laboratory.id), "--json"))
    assert [(o["kind"], o["status"]) for o in operations] == [
        ("PROVISION", "COMPLETED"),
        ("RENAME", "COMPLETED"),
    ]
    assert "attempt 1: SUCCEEDED" in course_cmd("operations", str(laboratory.id))


def test_rebind_a_wrongly_bound_course(platforms, provision):
    wrong = platforms.control.create_guild(name="No bot", bot_member=False)
    course = provision(discord_guild_id=wrong["id"])
    right = platforms.control.create_guild(name="Staff server")
    out = course_cmd("rebind", str(course.id), "--discord-guild-id", right["id"])
    assert "PROVISION COMPLETED" in out
    course.refresh_from_db()
    assert course.status == Course.Status.COMPLETED


def test_refusals_are_command_errors(laboratory):
    with pytest.raises(CommandError, match="No course"):
        course_cmd("operations", str(uuid.uuid4()))
    with pytest.raises(CommandError, match="can no longer be changed"):
        course_cmd("rebind", str(laboratory.id), "--discord-guild-id", "123456789012345678")
    with pytest.raises(CommandError, match="already named"):
        course_cmd("rename", str(laboratory.id), "--name", "Systems")
    with pytest.raises(CommandError, match="lab_groups"):
        course_cmd("add-group", str(laboratory.id), "--group", "Alpha")
    Course.objects.filter(id=laboratory.id).update(status="IN_PROGRESS", run_token=uuid.uuid4())
    with pytest.raises(CommandError, match="busy"):
        course_cmd("rename", str(laboratory.id), "--name", "Other")
