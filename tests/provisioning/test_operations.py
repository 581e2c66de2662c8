"""Operations: provisioning and the changes after it run on one engine, attempts are rows, one
operation at a time per course, and a crash at any step boundary of a change is finished by the
next run with nothing made twice."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from courses.changes import course_add_groups, course_rebind, course_rename
from courses.models import Course
from courses.services import DiscordServerInUseError, LabGroupInput
from integrations.errors import TransientError
from provisioning import resources, runner
from provisioning.models import JobExecution, Operation, StepAttempt
from provisioning.operations import OperationBusyError, OperationNotAllowedError
from provisioning.selectors import course_operations
from provisioning.steps import CHANGE_STEPS, HANDLERS
from tests.provisioning.helpers import SEEDED_FILES, assert_no_duplicates, guild_of

pytestmark = pytest.mark.django_db

WRITES = ("POST", "PUT", "PATCH", "DELETE")


class SimulatedCrash(BaseException):
    """The process dies here."""


@pytest.fixture
def laboratory(platforms, provision) -> Course:
    platforms.add_servers(1)
    course = provision(name="Systems", type="LABORATORY", groups=("Alpha", "Beta"))
    assert course.status == Course.Status.COMPLETED
    return course


def _writes_since(platforms, seen: int) -> list[dict[str, Any]]:
    return [r for r in platforms.control.requests(since=seen) if r["method"] in WRITES]


# -- rebind ----------------------------------------------------------------------------------


def test_a_wrongly_bound_failed_course_is_rebound_and_completes(platforms, provision, on_commit):
    wrong = platforms.control.create_guild(name="No bot here", bot_member=False)
    course = provision(discord_guild_id=wrong["id"])
    assert course.status == Course.Status.FAILED
    right = platforms.control.create_guild(name="Staff server")

    with on_commit():
        course_rebind(course=course, discord_guild_id=right["id"])

    course.refresh_from_db()
    assert course.status == Course.Status.COMPLETED
    assert course.discord_guild_id == right["id"]
    guild = guild_of(platforms.state(), course)
    assert guild["id"] == right["id"]
    assert guild["name"] == "Algorithms · 2026-fall"
    [operation] = course.operations.all()  # the same provisioning, retried
    assert (operation.kind, operation.status) == ("PROVISION", "COMPLETED")
    setup = course.steps.get(name="SETUP_DISCORD_SERVER")
    outcomes = list(setup.attempt_log.values_list("outcome", flat=True))
    assert outcomes == ["FAILED", "SUCCEEDED"]
    assert "not in Discord server" in setup.attempt_log.first().error


def test_rebind_to_the_pool_gives_a_claimed_server_back(platforms, provision, on_commit):
    [broken] = platforms.add_servers(1, permissions=str(1 << 10))  # the bot lost its rights
    course = provision()
    assert course.status == Course.Status.FAILED and course.discord_guild_id == broken
    right = platforms.control.create_guild(name="Staff server")

    with on_commit():
        course_rebind(course=course, discord_guild_id=right["id"])

    course.refresh_from_db()
    assert course.status == Course.Status.COMPLETED
    assert course.discord_guild_id == right["id"]
    assert not course.resources.filter(external_id=broken).exists()


def test_rebind_is_refused_once_something_exists_in_discord(laboratory):
    with pytest.raises(OperationNotAllowedError, match="can no longer be changed"):
        course_rebind(course=laboratory, discord_guild_id="123456789012345678")


def test_rebind_refuses_a_bad_id_and_a_server_of_another_course(platforms, provision, laboratory):
    wrong = platforms.control.create_guild(name="No bot here", bot_member=False)
    course = provision(name="Other", discord_guild_id=wrong["id"])
    with pytest.raises(Exception, match="snowflake"):
        course_rebind(course=course, discord_guild_id="12ab")
    with pytest.raises(DiscordServerInUseError):
        course_rebind(course=course, discord_guild_id=laboratory.discord_guild_id)


# -- add lab groups --------------------------------------------------------------------------


def test_a_group_added_to_a_completed_laboratory_makes_only_its_resources(
    platforms, laboratory, on_commit
):
    seen = len(platforms.control.requests())
    with on_commit():
        operation = course_add_groups(
            course=laboratory, groups=[LabGroupInput(name="Gamma", number=3)]
        )

    laboratory.refresh_from_db()
    operation.refresh_from_db()
    assert laboratory.status == Course.Status.COMPLETED
    assert (operation.kind, operation.status) == ("ADD_GROUPS", "COMPLETED")
    writes = _writes_since(platforms, seen)
    assert writes
    for write in writes:  # nothing of groups 1 and 2 is touched
        text = f"{write['path']} {write['body']}".lower()
        assert "group-1" not in text and "group-2" not in text, write
        assert "alpha" not in text and "beta" not in text, write
    created = [
        w
        for w in writes
        if w["method"] == "POST" and w["path"].endswith(("/roles", "/channels", "/repos"))
    ]
    assert len(created) == 3  # one role, one channel, one repository
    state = platforms.state()
    assert_no_duplicates(state)
    assert len(state["github"]["repos"]) == 3
    for repo in state["github"]["repos"].values():
        assert set(repo["files"]) == SEEDED_FILES
    assert laboratory.resources.filter(lab_group__number=3, state="confirmed").count() == 5


def test_add_groups_checks_its_input(laboratory, provision):
    with pytest.raises(Exception, match="unique"):
        course_add_groups(course=laboratory, groups=[LabGroupInput(name="Alpha", number=9)])
    with pytest.raises(Exception, match="unique"):
        course_add_groups(course=laboratory, groups=[LabGroupInput(name="Zeta", number=1)])
    lecture = provision(name="Lecture only")
    with pytest.raises(Exception, match="A lecture has no lab groups"):
        course_add_groups(course=lecture, groups=[LabGroupInput(name="Zeta", number=1)])
    assert laboratory.lab_groups.count() == 2


def test_a_new_operation_is_refused_while_another_runs(laboratory):
    Course.objects.filter(id=laboratory.id).update(
        status=Course.Status.IN_PROGRESS, run_token=uuid.uuid4()
    )
    with pytest.raises(OperationBusyError, match="busy"):
        course_add_groups(course=laboratory, groups=[LabGroupInput(name="Gamma", number=3)])
    with pytest.raises(OperationBusyError):
        course_rename(course=laboratory, name="Systems II")
    assert laboratory.lab_groups.count() == 2
    assert laboratory.operations.count() == 1


def test_a_change_waits_for_provisioning_to_complete(platforms, provision):
    course = provision(type="LABORATORY", groups=("Alpha",))  # the pool is empty: FAILED
    with pytest.raises(OperationNotAllowedError, match="must complete first"):
        course_add_groups(course=course, groups=[LabGroupInput(name="Gamma", number=3)])
    assert course.lab_groups.count() == 1


# -- rename ----------------------------------------------------------------------------------


def test_rename_renames_the_server_and_keeps_the_repositories(platforms, laboratory, on_commit):
    repos_before = set(platforms.state()["github"]["repos"])
    seen = len(platforms.control.requests())
    with on_commit():
        operation = course_rename(course=laboratory, name="Operating Systems")

    laboratory.refresh_from_db()
    assert laboratory.name == "Operating Systems"
    assert laboratory.status == Course.Status.COMPLETED
    assert operation is not None and operation.params == {
        "from": "Systems",
        "to": "Operating Systems",
    }
    assert guild_of(platforms.state(), laboratory)["name"] == "Operating Systems · 2026-fall"
    repos = platforms.state()["github"]["repos"]
    assert set(repos) == repos_before  # same names: the slug stays
    for repo in repos.values():  # described anew, the marker kept
        assert repo["description"].startswith("Operating Systems (2026-fall), lab group")
        assert f"[course:{laboratory.id}]" in repo["description"]
    writes = _writes_since(platforms, seen)
    assert [(w["provider"], w["method"]) for w in writes] == [("discord", "PATCH")] + [
        ("github", "PATCH")
    ] * 2
    assert course_rename(course=laboratory, name="Operating Systems") is None  # no change


# -- attempts --------------------------------------------------------------------------------


def test_every_attempt_is_a_row_with_its_error(platforms, provision, monkeypatch):
    platforms.add_servers(1)
    real = HANDLERS["CREATE_GITHUB_REPO"]
    calls = []

    def flaky(ctx):
        calls.append(1)
        if len(calls) <= 2:
            raise TransientError(f"502 Bad Gateway #{len(calls)}", retry_after=0.001)
        real(ctx)

    monkeypatch.setitem(HANDLERS, "CREATE_GITHUB_REPO", flaky)
    course = provision()

    assert course.status == Course.Status.COMPLETED
    step = course.steps.get(name="CREATE_GITHUB_REPO")
    attempts = list(step.attempt_log.order_by("number"))
    assert [(a.number, a.outcome) for a in attempts] == [
        (1, "RETRYING"),
        (2, "RETRYING"),
        (3, "SUCCEEDED"),
    ]
    assert "502 Bad Gateway #1" in attempts[0].error
    assert "502 Bad Gateway #2" in attempts[1].error
    assert attempts[2].error == ""
    assert all(a.finished_at and a.started_at <= a.finished_at for a in attempts)
    assert attempts[0].retry_after is not None and attempts[0].retry_after >= 0.001
    [operation] = course_operations(course=course)
    [step_json] = [s for s in operation["steps"] if s["stepName"] == "CREATE_GITHUB_REPO"]
    assert [a["error"] for a in step_json["attempts"]][:2] == [
        attempts[0].error,
        attempts[1].error,
    ]


def test_an_attempt_cut_short_by_a_crash_is_interrupted(
    platforms, provision, settings, monkeypatch
):
    platforms.add_servers(1)
    confirm = resources._confirm

    def crash_once(resource, found):
        if resource.kind == "repository":  # inside the attempt: it never gets an outcome
            monkeypatch.setattr(resources, "_confirm", confirm)
            raise SimulatedCrash()
        confirm(resource, found)

    monkeypatch.setattr(resources, "_confirm", crash_once)
    with pytest.raises(SimulatedCrash):
        provision()
    settings.PROVISIONING_LEASE_SECONDS = 0
    course = Course.objects.get()
    runner.run_course(course.id)
    attempts = course.steps.get(name="CREATE_GITHUB_REPO").attempt_log.order_by("number")
    assert [a.outcome for a in attempts] == ["INTERRUPTED", "SUCCEEDED"]


# -- crashes in the change operations ---------------------------------------------------------

CHANGES = [("ADD_GROUPS", step) for step in CHANGE_STEPS["ADD_GROUPS"]] + [
    ("RENAME", step) for step in CHANGE_STEPS["RENAME"]
]


def _start(kind: str, course: Course) -> Operation | None:
    if kind == "ADD_GROUPS":
        return course_add_groups(course=course, groups=[LabGroupInput(name="Gamma", number=3)])
    return course_rename(course=course, name="Operating Systems")


def _finish_normally(platforms, course: Course, settings, kind: str) -> None:
    settings.PROVISIONING_LEASE_SECONDS = 0  # the dead run's claim is stale at once
    result = runner.run_course(course.id)
    course.refresh_from_db()
    assert result.outcome == "COMPLETED"
    assert course.status == Course.Status.COMPLETED
    assert course.operations.get(kind=kind).status == "COMPLETED"
    state = platforms.state()
    assert_no_duplicates(state)
    expected_repos = 3 if kind == "ADD_GROUPS" else 2
    assert len(state["github"]["repos"]) == expected_repos
    for repo in state["github"]["repos"].values():
        assert set(repo["files"]) == SEEDED_FILES
    assert JobExecution.objects.filter(course=course, outcome="CRASHED").count() == 1
    if kind == "RENAME":
        assert guild_of(state, course)["name"] == "Operating Systems · 2026-fall"


@pytest.mark.parametrize(("kind", "step_name"), CHANGES)
def test_crash_after_a_change_step_before_its_checkpoint(
    platforms, laboratory, settings, monkeypatch, on_commit, kind, step_name
):
    finish = runner._finish_step

    def crash_once(step, status, error):
        if step.name == step_name and status == "COMPLETED" and step.operation.kind == kind:
            monkeypatch.setattr(runner, "_finish_step", finish)
            raise SimulatedCrash(step_name)
        finish(step, status, error)

    monkeypatch.setattr(runner, "_finish_step", crash_once)
    with pytest.raises(SimulatedCrash), on_commit():
        _start(kind, laboratory)

    operation = laboratory.operations.get(kind=kind)
    assert operation.steps.get(name=step_name).status == "IN_PROGRESS"
    _finish_normally(platforms, laboratory, settings, kind)


@pytest.mark.parametrize("step_name", CHANGE_STEPS["ADD_GROUPS"])
def test_crash_between_a_create_and_its_record_while_adding_a_group(
    platforms, laboratory, settings, monkeypatch, on_commit, step_name
):
    confirm = resources._confirm
    crashed: list[str] = []

    def crash_once(resource, found):
        if not crashed and resource.course.steps.get(status="IN_PROGRESS").name == step_name:
            crashed.append(resource.key)
            raise SimulatedCrash(resource.key)
        confirm(resource, found)

    monkeypatch.setattr(resources, "_confirm", crash_once)
    with pytest.raises(SimulatedCrash), on_commit():
        _start("ADD_GROUPS", laboratory)

    assert laboratory.resources.filter(key=crashed[0], state="intended").exists()
    _finish_normally(platforms, laboratory, settings, "ADD_GROUPS")


def test_operations_read_model_lists_kinds_steps_and_who_asked(platforms, laboratory, on_commit):
    with on_commit():
        course_rename(course=laboratory, name="Operating Systems")
    operations = course_operations(course=laboratory)
    assert [(o["kind"], o["status"]) for o in operations] == [
        ("PROVISION", "COMPLETED"),
        ("RENAME", "COMPLETED"),
    ]
    assert operations[1]["requestedBy"] == {"apiKey": None, "user": None}
    assert [s["stepName"] for s in operations[1]["steps"]] == [
        "RENAME_DISCORD_SERVER",
        "DESCRIBE_GITHUB_REPOS",
    ]
    assert operations[1]["steps"][0]["attempts"][0]["outcome"] == "SUCCEEDED"
    assert StepAttempt.objects.filter(step__course=laboratory).count() == 8
