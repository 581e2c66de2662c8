"""``manage.py course``: rebind, add-group, rename, archive, unarchive, repair, teardown and
operations, thin over the services."""

from __future__ import annotations

import io
import json
import sys
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from courses.models import Course
from integrations.errors import PermanentError
from provisioning.models import ExternalResource, Operation
from provisioning.steps import HANDLERS

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


class _Terminal(io.StringIO):
    """Standard input as typed at a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def lecture(platforms, provision) -> Course:
    platforms.add_servers(1)
    return provision(name="Compilers")


def test_archive_and_unarchive(lecture):
    out = course_cmd("archive", str(lecture.id), "--wait")
    assert "ARCHIVE COMPLETED" in out
    lecture.refresh_from_db()
    assert lecture.archived_at is not None
    with pytest.raises(CommandError, match="archived"):
        course_cmd("archive", str(lecture.id))  # refused: exits non-zero

    operations = json.loads(course_cmd("unarchive", str(lecture.id), "--json"))
    assert [(o["kind"], o["status"]) for o in operations] == [("UNARCHIVE", "COMPLETED")]
    lecture.refresh_from_db()
    assert lecture.archived_at is None


def test_repair_puts_back_what_verify_found(lecture, platforms):
    channel = ExternalResource.objects.filter(course=lecture, kind="channel").first()
    platforms.control.delete_channel(channel.external_id)
    with pytest.raises(CommandError, match="drifted"):
        course_cmd("verify", str(lecture.id))
    assert "REPAIR COMPLETED" in course_cmd("repair", str(lecture.id))
    assert "missing" not in course_cmd("verify", str(lecture.id))


def test_teardown_asks_for_the_name_unless_yes(lecture, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # a pipe: nobody to ask
    with pytest.raises(CommandError, match="pass --yes"):
        course_cmd("teardown", str(lecture.id))
    monkeypatch.setattr(sys, "stdin", _Terminal("compilers\n"))
    with pytest.raises(CommandError, match="not the course's name: nothing was done"):
        course_cmd("teardown", str(lecture.id))
    assert "will:" in capsys.readouterr().err  # the plan was shown before the question
    assert not lecture.operations.filter(kind=Operation.Kind.TEARDOWN).exists()

    monkeypatch.setattr(sys, "stdin", _Terminal("Compilers\n"))
    assert "TEARDOWN COMPLETED" in course_cmd("teardown", str(lecture.id))
    lecture.refresh_from_db()
    assert lecture.deleted_at is not None
    with pytest.raises(CommandError, match="torn down"):
        course_cmd("teardown", str(lecture.id), "--yes")


def test_a_failed_operation_exits_non_zero(lecture, monkeypatch):
    def refused(ctx):
        raise PermanentError("Missing Permissions")

    monkeypatch.setitem(HANDLERS, "ARCHIVE_DISCORD_CHANNELS", refused)
    with pytest.raises(CommandError, match="ARCHIVE FAILED at ARCHIVE_DISCORD_CHANNELS"):
        course_cmd("archive", str(lecture.id))


def test_teardown_yes_takes_a_failed_course_which_nothing_else_does(platforms, provision):
    wrong = platforms.control.create_guild(name="No bot", bot_member=False)
    failed = provision(discord_guild_id=wrong["id"])
    assert failed.status == Course.Status.FAILED
    with pytest.raises(CommandError, match="FAILED"):
        course_cmd("archive", str(failed.id))
    with pytest.raises(CommandError):
        course_cmd("repair", str(failed.id))
    assert not failed.operations.exclude(kind="PROVISION").exists()

    assert "TEARDOWN COMPLETED" in course_cmd("teardown", str(failed.id), "--yes")
    failed.refresh_from_db()
    assert failed.deleted_at is not None
