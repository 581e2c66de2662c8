"""Archive and unarchive (semester end): read-only on the platforms, exactly reversed, 0 writes on
a repeat, crash-safe at every step boundary and between a write and its record."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from courses.changes import course_rename
from courses.models import Course
from integrations.discord.permissions import (
    ADD_REACTIONS,
    ARCHIVED_DENY,
    CHANNEL_MEMBER,
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
)
from integrations.errors import PermanentError
from integrations.ratelimit import _store_for
from provisioning import runner
from provisioning.archive import (
    archive_plan,
    course_archive,
    course_unarchive,
    semester_archive,
    semester_archive_plan,
)
from provisioning.context import discord_client, github_client
from provisioning.handlers import archive as handlers
from provisioning.models import ExternalResource, Operation
from provisioning.operations import OperationBusyError, OperationNotAllowedError
from provisioning.steps import CHANGE_STEPS
from provisioning.verify import course_verify, drift_report_latest
from sandbox.discord.permissions import DEFAULT_EVERYONE, channel_permissions
from tests.provisioning.helpers import assert_no_duplicates, overwrites_of

pytestmark = pytest.mark.django_db

ORG = "test-university"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


class SimulatedCrash(BaseException):
    """The process dies here."""


def _provision(platforms, provision, kind: str, name: str = "Archivable") -> Course:
    platforms.add_servers(1)
    groups = ("Alpha", "Beta") if kind == Course.Type.LABORATORY else ()
    course = provision(name=name, type=kind, groups=groups)
    assert course.status == Course.Status.COMPLETED
    return course


def _repo_names(course: Course) -> list[str]:
    return sorted(
        f"{ORG}/{key}"
        for key in course.resources.filter(kind="repository").values_list("key", flat=True)
    )


def platform_view(platforms, course: Course) -> dict[str, Any]:
    """The sandbox's own state of what the course made: the server's name, each channel's
    overwrites (as a set), each repository's archived flag."""
    state = platforms.state()
    guild = state["discord"]["guilds"][course.discord_guild_id]
    return {
        "server": guild["name"],
        "channels": {c["id"]: overwrites_of(c) for c in guild["channels"]},
        "repos": {name: state["github"]["repos"][name]["archived"] for name in _repo_names(course)},
    }


def _archive(course: Course, on_commit) -> Operation:
    with on_commit():
        operation = course_archive(course=course)
    operation.refresh_from_db()
    course.refresh_from_db()
    return operation


def _unarchive(course: Course, on_commit) -> Operation:
    with on_commit():
        operation = course_unarchive(course=course)
    operation.refresh_from_db()
    course.refresh_from_db()
    return operation


def _ints(overwrites: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [handlers.overwrite_int(o) for o in overwrites]


def _member_can(course: Course, guild: dict[str, Any], channel: dict[str, Any], roles: list[str]):
    """A member's permissions in the channel, by Discord's algorithm (the sandbox's)."""
    return channel_permissions(
        DEFAULT_EVERYONE,
        course.discord_guild_id,
        "42",
        roles,
        _ints(channel["permission_overwrites"]),
    )


def assert_archived(platforms, course: Course, before: dict[str, Any]) -> None:
    """Every channel read-only for @everyone and the group roles, every other overwrite as it
    was; the server prefixed once; every repository archived."""
    view = platform_view(platforms, course)
    assert view["server"] == "[archived] " + before["server"]
    assert set(view["repos"].values()) == {True}
    members = {course.discord_guild_id} | set(
        course.resources.filter(kind="role", key__startswith="group-").values_list(
            "external_id", flat=True
        )
    )
    assert set(view["channels"]) == set(before["channels"])
    for channel_id, overwrites in view["channels"].items():
        now = {o[0]: (o[1], int(o[2]), int(o[3])) for o in overwrites}
        was = {o[0]: (o[1], int(o[2]), int(o[3])) for o in before["channels"][channel_id]}
        assert course.discord_guild_id in now  # @everyone's overwrite, added where missing
        for id_, (type_, allow, deny) in now.items():
            if id_ in members:
                assert deny & ARCHIVED_DENY == ARCHIVED_DENY and not allow & ARCHIVED_DENY
                old_allow, old_deny = was.get(id_, (0, 0, 0))[1:]
                assert allow == old_allow & ~ARCHIVED_DENY  # nothing else taken away
                assert deny == old_deny | ARCHIVED_DENY
            else:
                assert (type_, allow, deny) == was[id_]  # the bot, staff: untouched
    assert_no_duplicates(platforms.state())


# -- (1) exact reversal, field by field on the sandbox's state ------------------------------------
@pytest.mark.parametrize("kind", [Course.Type.LECTURE, Course.Type.LABORATORY])
def test_archive_then_unarchive_returns_every_resource_to_its_state_before(
    platforms, provision, on_commit, kind
):
    course = _provision(platforms, provision, kind)
    before = platform_view(platforms, course)
    assert set(before["repos"].values()) == {False}
    channels = course.resources.filter(kind="channel").count()
    repos = len(before["repos"])
    seen = len(platforms.control.requests())

    operation = _archive(course, on_commit)

    assert (operation.kind, operation.status) == ("ARCHIVE", "COMPLETED")
    assert course.status == Course.Status.COMPLETED and course.archived_at is not None
    assert_archived(platforms, course, before)
    calls = platforms.control.requests(since=seen)
    # The documented cost: one channel listing, one PATCH per channel, the server, each repo.
    assert [(c["method"], c["provider"]) for c in calls if c["method"] == "GET"] == [
        ("GET", "discord")
    ]
    writes = [(c["provider"], c["method"]) for c in calls if c["method"] in WRITES]
    assert sorted(writes) == sorted(
        [("discord", "PATCH")] * (channels + 1) + [("github", "PATCH")] * repos
    )
    # Verify expects what was recorded: the archived state is no drift.
    with on_commit():
        course_verify(course=course)
    assert {r["state"] for r in drift_report_latest(course=course).resources} == {"ok"}

    seen = len(platforms.control.requests())
    operation = _unarchive(course, on_commit)

    assert (operation.kind, operation.status) == ("UNARCHIVE", "COMPLETED")
    assert course.archived_at is None and course.status == Course.Status.COMPLETED
    assert platform_view(platforms, course) == before
    writes = [c for c in platforms.control.requests(since=seen) if c["method"] in WRITES]
    assert len(writes) == channels + 1 + repos
    assert not any(
        handlers.BEFORE in r.data for r in ExternalResource.objects.filter(course=course)
    )
    with on_commit():
        course_verify(course=course)
    assert {r["state"] for r in drift_report_latest(course=course).resources} == {"ok"}


# -- (2) what archived means for people ------------------------------------------------------------
def test_archived_laboratory_members_cannot_post_and_staff_still_can(
    platforms, provision, on_commit
):
    course = _provision(platforms, provision, Course.Type.LABORATORY)
    discord = discord_client()
    guild_id = course.discord_guild_id
    # The roster's staff role (the people feature): an allow in every channel.
    staff = discord.create_role(guild_id, name="Staff")
    ExternalResource.objects.create(
        course=course,
        provider="discord",
        kind="role",
        key="staff",
        external_id=staff["id"],
        state="confirmed",
        data={"name": "Staff"},
    )
    for channel in course.resources.filter(kind="channel"):
        discord.edit_channel_permission(
            channel.external_id, staff["id"], type=0, allow=CHANNEL_MEMBER, deny=0
        )
    group1 = course.resources.get(kind="role", key="group-1").external_id
    before = platform_view(platforms, course)

    _archive(course, on_commit)

    assert_archived(platforms, course, before)
    guild = platforms.state()["discord"]["guilds"][guild_id]
    [channel] = [c for c in guild["channels"] if c["name"].startswith("group-1")]
    student = _member_can(course, guild, channel, [group1])
    assert student & (VIEW_CHANNEL | READ_MESSAGE_HISTORY) == VIEW_CHANNEL | READ_MESSAGE_HISTORY
    for bit in (
        SEND_MESSAGES,
        SEND_MESSAGES_IN_THREADS,
        CREATE_PUBLIC_THREADS,
        CREATE_PRIVATE_THREADS,
        ADD_REACTIONS,
    ):
        assert not student & bit
    assert _member_can(course, guild, channel, [group1, staff["id"]]) & SEND_MESSAGES
    # The bot keeps its own overwrite (it may still post).
    bot_id = course.resources.get(kind="server").data["bot_user_id"]
    [bot] = [o for o in channel["permission_overwrites"] if o["id"] == bot_id]
    assert int(bot["allow"]) == CHANNEL_MEMBER and int(bot["deny"]) == 0


def test_an_archived_repository_refuses_writes_and_the_lecture_is_read_only(
    platforms, provision, on_commit
):
    course = _provision(platforms, provision, Course.Type.LECTURE)
    guild_before = platforms.state()["discord"]["guilds"][course.discord_guild_id]
    general = next(c for c in guild_before["channels"] if c["name"] == "general")
    assert _member_can(course, guild_before, general, []) & SEND_MESSAGES

    _archive(course, on_commit)

    guild = platforms.state()["discord"]["guilds"][course.discord_guild_id]
    for channel in guild["channels"]:  # @everyone's overwrite added where there was none
        can = _member_can(course, guild, channel, [])
        assert can & VIEW_CHANNEL and not can & (SEND_MESSAGES | ADD_REACTIONS)
    [repo] = course.resources.filter(kind="repository")
    with pytest.raises(PermanentError) as refused:
        github_client().rename_repo(repo.key, repo.key, description="changed while archived")
    assert refused.value.status == 403 and "archived" in refused.value.message


# -- (3) a repeat of a completed archive (or unarchive) writes nothing ----------------------------
def _run_again(course: Course, operation: Operation) -> None:
    operation.steps.update(status="PENDING", finished_at=None)
    Operation.objects.filter(id=operation.id).update(status="PENDING", finished_at=None)
    Course.objects.filter(id=course.id).update(status=Course.Status.PENDING)
    assert runner.run_course(course.id).outcome == "COMPLETED"


def test_a_rerun_of_a_completed_archive_and_unarchive_sends_no_write(
    platforms, provision, on_commit
):
    course = _provision(platforms, provision, Course.Type.LABORATORY)
    before = platform_view(platforms, course)
    archive = _archive(course, on_commit)
    archived = platform_view(platforms, course)
    archived_at = course.archived_at

    seen = len(platforms.control.requests())
    _run_again(course, archive)
    calls = platforms.control.requests(since=seen)
    assert [c for c in calls if c["method"] in WRITES] == []
    assert len(calls) == 1  # the channel listing, to see they are read-only already
    assert platform_view(platforms, course) == archived
    course.refresh_from_db()
    assert course.archived_at == archived_at  # the first time is kept

    unarchive = _unarchive(course, on_commit)
    seen = len(platforms.control.requests())
    _run_again(course, unarchive)
    assert platforms.control.requests(since=seen) == []  # nothing left to restore: no call
    assert platform_view(platforms, course) == before


# -- (4) crashes: at every step boundary, and between each write and its record -------------------
ARCHIVE_STEPS = [str(name) for name in CHANGE_STEPS["ARCHIVE"]]
UNARCHIVE_STEPS = [str(name) for name in CHANGE_STEPS["UNARCHIVE"]]


def _crash_at_checkpoint(monkeypatch, step_name: str) -> None:
    finish = runner._finish_step

    def crash_once(step, status, error):
        if step.name == step_name and status == "COMPLETED":
            monkeypatch.setattr(runner, "_finish_step", finish)
            raise SimulatedCrash(step_name)
        finish(step, status, error)

    monkeypatch.setattr(runner, "_finish_step", crash_once)


def _crash_before_record(monkeypatch, step_name: str) -> None:
    """The write went out; the process dies before recording it (the first record of the step)."""
    record = handlers.state_record

    def crash_once(resource, **kwargs):
        running = resource.course.steps.get(status="IN_PROGRESS").name
        if running == step_name:
            monkeypatch.setattr(handlers, "state_record", record)
            raise SimulatedCrash(f"{step_name}: {resource.key}")
        record(resource, **kwargs)

    monkeypatch.setattr(handlers, "state_record", crash_once)


def _finish(course: Course, settings) -> None:
    settings.PROVISIONING_LEASE_SECONDS = 0  # the dead run's claim is stale at once
    assert runner.run_course(course.id).outcome == "COMPLETED"
    course.refresh_from_db()


CRASHES = {"checkpoint": _crash_at_checkpoint, "record": _crash_before_record}


@pytest.mark.parametrize("where", sorted(CRASHES))
@pytest.mark.parametrize("step_name", ARCHIVE_STEPS)
def test_an_archive_that_crashed_completes_and_still_reverses_exactly(
    platforms, provision, on_commit, settings, monkeypatch, step_name, where
):
    course = _provision(platforms, provision, Course.Type.LABORATORY)
    before = platform_view(platforms, course)
    CRASHES[where](monkeypatch, step_name)

    with pytest.raises(SimulatedCrash):
        _archive(course, on_commit)
    course.refresh_from_db()
    # Marked archived by the last step's handler, after its writes; not before.
    marked = step_name == ARCHIVE_STEPS[-1] and where == "checkpoint"
    assert (course.archived_at is not None) == marked
    _finish(course, settings)

    assert course.archived_at is not None
    assert_archived(platforms, course, before)  # the name prefixed once, the bits denied once
    _unarchive(course, on_commit)
    assert platform_view(platforms, course) == before


@pytest.mark.parametrize("where", sorted(CRASHES))
@pytest.mark.parametrize("step_name", UNARCHIVE_STEPS)
def test_an_unarchive_that_crashed_completes_and_restores_exactly(
    platforms, provision, on_commit, settings, monkeypatch, step_name, where
):
    course = _provision(platforms, provision, Course.Type.LABORATORY)
    before = platform_view(platforms, course)
    _archive(course, on_commit)
    CRASHES[where](monkeypatch, step_name)

    with pytest.raises(SimulatedCrash):
        _unarchive(course, on_commit)
    _finish(course, settings)

    assert course.archived_at is None
    assert platform_view(platforms, course) == before
    assert not any(handlers.BEFORE in r.data for r in course.resources.all())


def test_a_snapshot_is_kept_once_so_a_repeat_after_a_crash_keeps_the_true_before(
    platforms, provision, on_commit, settings, monkeypatch
):
    """The crash falls after the channel's write; the retry reads it read-only already and must
    not take that for the state before."""
    course = _provision(platforms, provision, Course.Type.LECTURE)
    before = platform_view(platforms, course)
    _crash_before_record(monkeypatch, "ARCHIVE_DISCORD_CHANNELS")
    with pytest.raises(SimulatedCrash):
        _archive(course, on_commit)
    _finish(course, settings)
    for resource in course.resources.filter(kind="channel"):
        kept = resource.data[handlers.BEFORE]["overwrites"]
        assert (
            overwrites_of({"permission_overwrites": kept})
            == (before["channels"][resource.external_id])
        )


# -- (5) refusals ----------------------------------------------------------------------------------
def test_archive_and_unarchive_are_refused_in_the_wrong_state(platforms, provision, on_commit):
    course = _provision(platforms, provision, Course.Type.LECTURE)
    with pytest.raises(OperationNotAllowedError, match="not archived"):
        course_unarchive(course=course)
    Operation.objects.create(course=course, kind=Operation.Kind.VERIFY)
    with pytest.raises(OperationBusyError):
        course_archive(course=course)
    Operation.objects.filter(course=course, kind="VERIFY").delete()

    _archive(course, on_commit)
    with pytest.raises(OperationNotAllowedError, match="already archived"):
        course_archive(course=course)
    # An archived course takes no rename (its repositories refuse writes); a verify, yes.
    with pytest.raises(OperationNotAllowedError, match="archived"):
        course_rename(course=course, name="Renamed while archived")
    course.refresh_from_db()
    assert course.name == "Archivable"
    with on_commit():
        assert course_verify(course=course).kind == "VERIFY"
    assert not course.operations.filter(kind="RENAME").exists()


def test_a_failed_course_is_not_archived(platforms, provision):
    course = _provision(platforms, provision, Course.Type.LECTURE)
    Course.objects.filter(id=course.id).update(status=Course.Status.FAILED)
    course.refresh_from_db()
    with pytest.raises(OperationNotAllowedError, match="FAILED"):
        course_archive(course=course)


# -- (6) a semester ------------------------------------------------------------------------------
def test_semester_plan_is_a_dry_run_that_lists_the_changes_and_their_cost(
    platforms, provision, on_commit
):
    platforms.add_servers(3)
    lecture = provision(name="Algebra", type="LECTURE")
    lab = provision(name="Systems", type="LABORATORY", groups=("A", "B"))
    failed = provision(name="Broken", type="LECTURE")
    Course.objects.filter(id=failed.id).update(status=Course.Status.FAILED)
    provision(name="Elsewhere", type="LECTURE", semester="2027-spring")
    seen = len(platforms.control.requests())
    operations = Operation.objects.count()

    plan = semester_archive_plan(semester="Fall 2026")  # any spelling of the semester

    assert platforms.control.requests(since=seen) == []
    assert Operation.objects.count() == operations
    assert plan["semester"] == "2026-fall"
    assert [c["courseId"] for c in plan["courses"]] == [str(lecture.id), str(lab.id)]
    assert plan["skipped"] == [
        {"courseId": str(failed.id), "name": "Broken", "reason": plan["skipped"][0]["reason"]}
    ]
    assert plan["skipped"][0]["reason"].startswith("failed")
    lecture_plan = archive_plan(course=lecture)
    assert (lecture_plan["githubWrites"], lecture_plan["discordWrites"]) == (1, 5)
    assert any("#general: read-only" in change for change in lecture_plan["changes"])
    assert any("[archived] Algebra" in change for change in lecture_plan["changes"])
    assert (plan["githubWrites"], plan["discordWrites"]) == (1 + 2, 5 + 3)
    assert plan["estimatedSeconds"] >= 0


def test_semester_archive_archives_the_eligible_courses_and_skips_the_others(
    platforms, provision, on_commit
):
    platforms.add_servers(4)
    first = provision(name="Algebra", type="LECTURE")
    second = provision(name="Systems", type="LABORATORY", groups=("A",))
    busy = provision(name="Busy", type="LECTURE")
    Operation.objects.create(course=busy, kind=Operation.Kind.VERIFY)
    already = provision(name="Done", type="LECTURE")
    _archive(already, on_commit)

    with on_commit():
        operations = semester_archive(semester="2026-fall")

    assert sorted(str(o.course_id) for o in operations) == sorted([str(first.id), str(second.id)])
    for course in (first, second, already):
        course.refresh_from_db()
        assert course.archived_at is not None
    busy.refresh_from_db()
    assert busy.archived_at is None and not busy.operations.filter(kind="ARCHIVE").exists()
    assert all(o.params == {"semester": "2026-fall"} for o in operations)
    plan = semester_archive_plan(semester="2026-fall")
    assert plan["courses"] == [] and {s["reason"] for s in plan["skipped"]} == {
        "already archived",
        "busy: an operation is pending or running",
    }


def test_a_semester_that_is_not_one_is_a_validation_error(db):
    with pytest.raises(ValidationError) as error:
        semester_archive_plan(semester="not a semester")
    assert "semester" in error.value.message_dict


def test_twenty_lectures_archive_within_the_github_budget_with_no_secondary_limit_answer(
    platforms, provision, on_commit, settings
):
    """Must-show: a semester of 20 lectures archives in-process under the default budget (70
    writes a minute), against a GitHub that enforces its secondary limit, with no 429 or 403."""
    platforms.add_servers(20)
    settings.GITHUB_WRITE_BUDGET = "100000/60"  # provisioning them is not what this tests
    courses = [provision(name=f"Lecture {n:02}", type="LECTURE") for n in range(20)]
    assert {c.status for c in courses} == {Course.Status.COMPLETED}
    # Weeks later: the provisioning's calls have left every window, ours (forgotten) and the
    # platforms' (Discord's global limit counts a second).
    _store_for.cache_clear()
    time.sleep(1.1)
    settings.GITHUB_WRITE_BUDGET = "70/60,450/3600"
    platforms.control.configure(github={"secondary_limit": {"requests": 80, "window": 60}})
    seen = len(platforms.control.requests())
    plan = semester_archive_plan(semester="2026-fall")
    assert (plan["githubWrites"], plan["discordWrites"]) == (20, 20 * 5)

    started = time.monotonic()
    with on_commit():
        operations = semester_archive(semester="2026-fall")
    elapsed = time.monotonic() - started

    assert len(operations) == 20
    assert Operation.objects.filter(kind="ARCHIVE", status="COMPLETED").count() == 20
    calls = platforms.control.requests(since=seen)
    refused = [(c["provider"], c["method"], c["path"]) for c in calls if c["status"] in (403, 429)]
    assert refused == []
    assert platforms.state()["github"]["counters"]["secondary_limited"] == 0
    github_writes = [c for c in calls if c["provider"] == "github" and c["method"] in WRITES]
    assert len(github_writes) == 20
    assert elapsed < 60, f"20 archives took {elapsed:.1f}s"


# -- (7) the command line --------------------------------------------------------------------------
def test_cli_dry_run_prints_the_plan_and_writes_nothing(platforms, provision, capsys):
    course = _provision(platforms, provision, Course.Type.LECTURE)
    seen = len(platforms.control.requests())
    call_command("semester", "archive", "2026-fall", "--dry-run", "--json")
    plan = json.loads(capsys.readouterr().out)
    assert [c["courseId"] for c in plan["courses"]] == [str(course.id)]
    assert (plan["githubWrites"], plan["discordWrites"]) == (1, 5)
    call_command("semester", "archive", "Fall 2026", "--dry-run")
    text = capsys.readouterr().out
    assert "1 course(s) to archive, 1 GitHub and 5 Discord writes" in text
    assert "#general: read-only for members" in text
    assert platforms.control.requests(since=seen) == []
    assert not Operation.objects.filter(kind="ARCHIVE").exists()


# transaction=True: the service enqueues on commit, which a test inside a transaction never reaches.
@pytest.mark.django_db(transaction=True)
def test_cli_archives_the_semester_and_reports_the_skipped(platforms, provision, capsys):
    platforms.add_servers(2)
    course = provision(name="Algebra", type="LECTURE")
    failed = provision(name="Broken", type="LECTURE")
    Course.objects.filter(id=failed.id).update(status=Course.Status.FAILED)

    call_command("semester", "archive", "2026-fall", "--json", "--wait", "--timeout", "60")

    body = json.loads(capsys.readouterr().out)
    assert [(o["courseId"], o["status"]) for o in body["operations"]] == [
        (str(course.id), "COMPLETED")
    ]
    assert [s["courseId"] for s in body["skipped"]] == [str(failed.id)]
    course.refresh_from_db()
    assert course.archived_at is not None
    call_command("semester", "archive", "2026-fall")  # nothing left to archive: not an error
    assert "0 archive(s) started" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("semester", "message"),
    [("not a semester", "is not a semester"), ("2031-spring", "No course in semester 2031-spring")],
)
def test_cli_errors_are_clear(db, semester, message):
    with pytest.raises(CommandError, match=message):
        call_command("semester", "archive", semester, "--dry-run")


def test_unarchive_keeps_an_overwrite_added_while_archived_and_restores_the_rest():
    """A roster sync may add the staff role's overwrite to an archived channel: unarchive puts
    back @everyone's and the group roles' overwrites as they were, and keeps that one."""
    guild, group, bot, staff = "1", "2", "3", "4"
    before = [
        {"id": guild, "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)},
        {"id": group, "type": 0, "allow": str(CHANNEL_MEMBER), "deny": "0"},
        {"id": bot, "type": 1, "allow": str(CHANNEL_MEMBER), "deny": "0"},
    ]
    archived = handlers.read_only_overwrites(before, everyone_id=guild, member_role_ids={group})
    assert handlers.read_only_overwrites(archived, everyone_id=guild, member_role_ids={group}) == (
        archived
    )  # idempotent: a repeat computes the same list
    meanwhile = [*archived, {"id": staff, "type": 0, "allow": CHANNEL_MEMBER, "deny": 0}]

    restored = handlers.restored_overwrites(meanwhile, before, touched_ids={guild, group})

    assert restored == [
        *_ints(before),
        {"id": staff, "type": 0, "allow": CHANNEL_MEMBER, "deny": 0},
    ]
    lecture = handlers.read_only_overwrites([], everyone_id=guild, member_role_ids=set())
    assert handlers.restored_overwrites(lecture, [], touched_ids={guild}) == []
