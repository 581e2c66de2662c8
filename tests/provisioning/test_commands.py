"""The operator's commands: provision_course and discord_servers."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from courses.models import Course
from provisioning.models import DiscordServer

# transaction=True: the command enqueues on commit, which a test inside a transaction never reaches.
pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_provision_course_waits_and_prints_json_status(platforms):
    platforms.add_servers(1)
    output = run(
        "provision_course",
        "--name=Graphics Lab",
        "--semester=2026-fall",
        "--type=laboratory",
        "--group=Alpha",
        "--group=Beta",
        "--wait",
        "--json",
    )
    status = json.loads(output)
    assert status["courseStatus"] == "COMPLETED"
    assert status["progress"] == {"completed": 6, "total": 6}
    course = Course.objects.get(name="Graphics Lab")
    assert list(course.lab_groups.values_list("number", "name")) == [(1, "Alpha"), (2, "Beta")]


def test_provision_course_wait_fails_with_the_failing_step(platforms):
    with pytest.raises(CommandError, match="FAILED at SETUP_DISCORD_SERVER: No Discord server"):
        run("provision_course", "--name=X", "--semester=2026-fall", "--type=lecture", "--wait")


def test_retry_from_the_command_line(platforms):
    with pytest.raises(CommandError):
        run("provision_course", "--name=X", "--semester=2026-fall", "--type=lecture", "--wait")
    course = Course.objects.get(name="X")
    platforms.add_servers(1)

    output = run("provision_course", f"--retry={course.id}", "--wait")

    assert f"Course {course.id} COMPLETED" in output
    with pytest.raises(CommandError, match="has no failed step"):
        run("provision_course", f"--retry={course.id}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name=X", "--semester=2026-fall"], "Missing --type"),
        (["--name=", "--semester=2026-fall", "--type=lecture"], "Missing --name"),
        (["--name=X", "--semester=2026 fall!", "--type=lecture"], "semester"),
        (["--name=X", "--semester=s", "--type=laboratory"], "1 to 50 lab groups"),
        (["--name=X", "--semester=s", "--type=lecture", "--group=A"], "A lecture has no lab"),
        (["--name=X", "--semester=s", "--type=lecture", "--discord-guild-id=12"], "snowflake"),
        (["--retry=not-a-uuid"], "No course with id"),
    ],
)
def test_bad_arguments_are_usage_errors_not_tracebacks(args, message):
    with pytest.raises(CommandError, match=message):
        run("provision_course", *args)


def test_same_course_twice_names_the_existing_one(platforms):
    platforms.add_servers(1)
    run("provision_course", "--name=Twice", "--semester=2026-fall", "--type=lecture")
    existing = Course.objects.get(name="Twice")
    with pytest.raises(CommandError, match=str(existing.id)):
        run("provision_course", "--name=Twice", "--semester=2026-fall", "--type=lecture")


def test_discord_servers_add_and_list():
    assert "The pool is empty" in run("discord_servers", "list")
    assert "available" in run("discord_servers", "add", "123456789012345678", "--name=Room A")
    run("discord_servers", "add", "123456789012345678")  # idempotent
    assert DiscordServer.objects.count() == 1
    assert "123456789012345678  available Room A" in run("discord_servers", "list")
    with pytest.raises(CommandError, match="not a Discord server id"):
        run("discord_servers", "add", "abc")
