"""Repair: what verify found missing or changed is put back through the same idempotent steps,
a second verify is clean, a repeat writes nothing, and a crash mid-repair duplicates nothing."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import transaction

from courses.models import Course, CourseMember
from integrations.github.client import GitHubClient
from provisioning import resources, runner
from provisioning.context import github_client
from provisioning.handlers.people import STAFF_ALLOW
from provisioning.models import ExternalResource, Operation
from provisioning.operations import (
    OperationBusyError,
    OperationNotAllowedError,
    course_lock_idle,
    operation_start,
)
from provisioning.people import members_sync
from provisioning.repair import course_repair, repair_plan
from provisioning.verify import course_verify, drift_report_latest
from tests.provisioning.helpers import (
    SEEDED_FILES,
    assert_no_duplicates,
    channel_named,
    guild_of,
    overwrites_of,
)

pytestmark = pytest.mark.django_db

ORG = "test-university"
CHECKED = ("server", "role", "channel", "repository", "protection")


class SimulatedCrash(BaseException):
    """The process dies here."""


@pytest.fixture
def laboratory(platforms, provision) -> Course:
    platforms.add_servers(1)
    course = provision(name="Systems", type="LABORATORY", groups=("Alpha", "Beta"))
    assert course.status == Course.Status.COMPLETED
    return course


def _resource(course: Course, kind: str, key: str) -> ExternalResource:
    return ExternalResource.objects.get(course=course, kind=kind, key=key)


def _repos(course: Course) -> list[ExternalResource]:
    return sorted(ExternalResource.objects.filter(course=course, kind="repository"), key=str)


def _drift(course: Course) -> set[tuple[str, str, str]]:
    report = drift_report_latest(course=course)
    assert report is not None
    return {(r["kind"], r["key"], r["state"]) for r in report.resources if r["state"] != "ok"}


def _writes(calls: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(c["method"], c["path"]) for c in calls if c["method"] != "GET"]


def _creates(calls: list[dict[str, Any]]) -> Counter[str]:
    """Creations by what they make: channels, roles, repositories."""
    made: Counter[str] = Counter()
    for c in calls:
        if c["method"] != "POST":
            continue
        for what in ("/channels", "/roles", "/repos"):
            if c["path"].endswith(what):
                made[what] += 1
    return made


def _five_drifts(course: Course, control) -> set[tuple[str, str, str]]:
    """Delete a channel, drop an overwrite, remove protection, rename a repository, make one
    public: behind the app's back. Returns the report verify must give."""
    group1 = _resource(course, "channel", "group-1-alpha")
    group2 = _resource(course, "channel", "group-2-beta")
    role2 = _resource(course, "role", "group-2")
    first, second = _repos(course)
    control.delete_channel(group1.external_id)
    control.drop_overwrite(group2.external_id, role2.external_id)
    control.remove_protection(f"{ORG}/{first.key}")
    control.make_repo_public(f"{ORG}/{first.key}")
    control.rename_repo(f"{ORG}/{second.key}", "renamed-by-hand")
    return {
        ("channel", group1.key, "missing"),
        ("channel", group2.key, "changed"),
        ("protection", first.key, "missing"),
        ("repository", first.key, "changed"),
        ("repository", second.key, "changed"),
    }


def _assert_repaired(course: Course, platforms) -> None:
    state = platforms.state()
    assert_no_duplicates(state)
    guild = guild_of(state, course)
    role2 = _resource(course, "role", "group-2")
    assert role2.external_id in {o[0] for o in overwrites_of(channel_named(guild, "group-2-beta"))}
    channel_named(guild, "group-1-alpha")  # back, once
    repos = state["github"]["repos"]
    for repo in _repos(course):
        stored = repos[f"{ORG}/{repo.key}"]
        assert stored["private"] is True
        assert set(stored["files"]) == SEEDED_FILES
    assert "renamed-by-hand" not in {name.split("/")[1] for name in repos}


def test_verify_drift_repair_verify_end_to_end(laboratory, platforms, on_commit):
    control = platforms.control
    checked = ExternalResource.objects.filter(
        course=laboratory, state="confirmed", kind__in=CHECKED
    )

    # An untouched course: reads only, at most one per resource, all ok.
    seen = len(control.requests())
    with on_commit():
        course_verify(course=laboratory)
    calls = control.requests(since=seen)
    assert {c["method"] for c in calls} == {"GET"}
    assert 0 < len(calls) <= checked.count()
    assert _drift(laboratory) == set()

    expected = _five_drifts(laboratory, control)
    with on_commit():
        course_verify(course=laboratory)
    assert _drift(laboratory) == expected
    plan = repair_plan(course=laboratory)
    assert len(plan["changes"]) == 5 and plan["checkedAt"]
    assert any("renamed-by-hand" in line for line in plan["changes"])

    seen = len(control.requests())
    with on_commit():
        operation = course_repair(course=laboratory)
    operation.refresh_from_db()
    laboratory.refresh_from_db()
    assert (operation.kind, operation.status) == ("REPAIR", "COMPLETED")
    assert laboratory.status == Course.Status.COMPLETED
    writes = _writes(control.requests(since=seen))
    # One write per drifted item (docs/operations-platform.md): the channel made again with its
    # overwrites, one PATCH of the other's overwrites, protection, private, renamed back.
    first, _ = _repos(laboratory)
    group2 = _resource(laboratory, "channel", "group-2-beta")
    guild = laboratory.discord_guild_id
    assert sorted(writes) == sorted(
        [
            ("POST", f"/guilds/{guild}/channels"),
            ("PATCH", f"/channels/{group2.external_id}"),
            ("PUT", f"/repos/{ORG}/{first.key}/branches/main/protection"),
            ("PATCH", f"/repos/{ORG}/{first.key}"),
            ("PATCH", f"/repos/{ORG}/renamed-by-hand"),
        ]
    ), writes
    # The repair ends with a drift report of its own: clean.
    report = drift_report_latest(course=laboratory)
    assert report.operation == operation and not report.drifted
    _assert_repaired(laboratory, platforms)

    # A second verify is clean.
    with on_commit():
        course_verify(course=laboratory)
    assert _drift(laboratory) == set()

    # Nothing left to repair: refused; forced anyway, it writes nothing.
    with pytest.raises(OperationNotAllowedError, match="nothing to repair"):
        course_repair(course=laboratory)
    seen = len(control.requests())
    with on_commit(), transaction.atomic():
        locked = course_lock_idle(course=laboratory)
        forced = operation_start(course=locked, kind=Operation.Kind.REPAIR)
    forced.refresh_from_db()
    assert forced.status == "COMPLETED"
    assert _writes(control.requests(since=seen)) == []


def test_a_deleted_role_is_made_again_and_its_channel_gets_the_new_id(
    laboratory, platforms, on_commit
):
    control = platforms.control
    role = _resource(laboratory, "role", "group-1")
    channel = _resource(laboratory, "channel", "group-1-alpha")
    first, _ = _repos(laboratory)
    old_role = role.external_id
    control.delete_role(laboratory.discord_guild_id, old_role)
    control.edit_repo(f"{ORG}/{first.key}", archived=True)
    with on_commit():
        course_verify(course=laboratory)
    assert _drift(laboratory) == {
        ("role", "group-1", "missing"),
        ("channel", channel.key, "changed"),
        ("repository", first.key, "changed"),
    }

    with on_commit():
        course_repair(course=laboratory)

    new_role = _resource(laboratory, "role", "group-1").external_id
    assert new_role != old_role
    state = platforms.state()
    assert_no_duplicates(state)
    overwrites = overwrites_of(channel_named(guild_of(state, laboratory), channel.key))
    assert new_role in {o[0] for o in overwrites} and old_role not in {o[0] for o in overwrites}
    assert state["github"]["repos"][f"{ORG}/{first.key}"]["archived"] is False
    assert not drift_report_latest(course=laboratory).drifted
    with on_commit():
        course_verify(course=laboratory)
    assert _drift(laboratory) == set()


@pytest.mark.parametrize("where", ["between a create and its record", "after a rename"])
def test_a_crash_in_the_middle_of_repair_then_a_rerun_duplicates_nothing(
    laboratory, platforms, on_commit, settings, monkeypatch, where
):
    control = platforms.control
    _five_drifts(laboratory, control)
    with on_commit():
        course_verify(course=laboratory)
    seen = len(control.requests())

    if where == "between a create and its record":
        confirm = resources._confirm

        def crash_once(resource, found):
            monkeypatch.setattr(resources, "_confirm", confirm)
            raise SimulatedCrash(resource.key)

        monkeypatch.setattr(resources, "_confirm", crash_once)
    else:
        rename = GitHubClient.rename_repo

        def crash_after(self, *args, **kwargs):
            rename(self, *args, **kwargs)
            monkeypatch.setattr(GitHubClient, "rename_repo", rename)
            raise SimulatedCrash("renamed")

        monkeypatch.setattr(GitHubClient, "rename_repo", crash_after)
    with pytest.raises(SimulatedCrash), on_commit():
        course_repair(course=laboratory)

    settings.PROVISIONING_LEASE_SECONDS = 0  # the dead run's claim is stale at once
    result = runner.run_course(laboratory.id)
    assert result.outcome == "COMPLETED"
    calls = control.requests(since=seen)
    assert _creates(calls) == Counter({"/channels": 1}), _creates(calls)
    renames = [c for c in calls if c["method"] == "PATCH" and "renamed-by-hand" in c["path"]]
    assert len(renames) == 1
    assert not drift_report_latest(course=laboratory).drifted
    _assert_repaired(laboratory, platforms)
    with on_commit():
        course_verify(course=laboratory)
    assert _drift(laboratory) == set()


def test_a_missing_repository_is_made_again_seeded_and_protected(platforms, provision, on_commit):
    platforms.add_servers(1)
    lecture = provision(name="Algorithms", type="LECTURE")
    [repo] = _repos(lecture)
    platforms.control.delete_repo(f"{ORG}/{repo.key}")
    with on_commit():
        course_verify(course=lecture)
    assert _drift(lecture) == {
        ("repository", repo.key, "missing"),
        ("protection", repo.key, "missing"),
    }
    seen = len(platforms.control.requests())

    with on_commit():
        course_repair(course=lecture)

    calls = platforms.control.requests(since=seen)
    assert _creates(calls) == Counter({"/repos": 1})
    stored = platforms.state()["github"]["repos"][f"{ORG}/{repo.key}"]
    assert set(stored["files"]) == SEEDED_FILES and stored["private"] is True
    assert _resource(lecture, "repository", repo.key).external_id != repo.external_id
    assert not drift_report_latest(course=lecture).drifted


def test_a_removed_bot_fails_the_repair_with_what_staff_must_do(laboratory, platforms, on_commit):
    channel = _resource(laboratory, "channel", "group-1-alpha")
    platforms.control.delete_channel(channel.external_id)
    with on_commit():
        course_verify(course=laboratory)
    platforms.control.remove_bot(laboratory.discord_guild_id)
    seen = len(platforms.control.requests())

    with on_commit():
        operation = course_repair(course=laboratory)

    operation.refresh_from_db()
    laboratory.refresh_from_db()
    assert operation.status == "FAILED" and laboratory.status == Course.Status.FAILED
    step = laboratory.steps.get(operation=operation)
    assert "not in Discord server" in step.last_error and "add it with" in step.last_error
    assert step.attempts == 1  # permanent: not retried
    assert _writes(platforms.control.requests(since=seen)) == []


def test_repair_is_refused_without_a_drift_report_when_clean_and_while_busy(laboratory, on_commit):
    with pytest.raises(OperationNotAllowedError, match="Verify it first"):
        course_repair(course=laboratory)
    assert repair_plan(course=laboratory) == {
        "courseId": str(laboratory.id),
        "changes": [],
        "checkedAt": None,
    }
    with on_commit():
        course_verify(course=laboratory)
    with pytest.raises(OperationNotAllowedError, match="nothing to repair"):
        course_repair(course=laboratory)
    assert repair_plan(course=laboratory)["changes"] == []
    Operation.objects.create(course=laboratory, kind=Operation.Kind.RENAME)
    with pytest.raises(OperationBusyError):
        course_repair(course=laboratory)
    assert not laboratory.operations.filter(kind="REPAIR").exists()


def test_a_synced_roster_keeps_its_staff_access_through_a_repair(
    platforms, provision, on_commit, settings
):
    """The staff role (verify checks it) is made again with its overwrite in every channel, a
    channel made again gets it and new invite links, and a repository made again is granted to
    its teams anew by the repair."""
    settings.GITHUB_WRITE_BUDGET = "100000/60"
    platforms.add_servers(1)
    lab = provision(name="Networks", type="LABORATORY", groups=("Alpha",))
    CourseMember.objects.create(
        course=lab, role=CourseMember.Role.INSTRUCTOR, name="Ines", github_username="ines-prof"
    )
    with on_commit():
        members_sync(course=lab)
    lab.refresh_from_db()
    assert lab.status == Course.Status.COMPLETED
    staff = _resource(lab, "role", "staff")
    channel = _resource(lab, "channel", "group-1-alpha")
    [repo] = _repos(lab)
    grants = ExternalResource.objects.filter(course=lab, kind="team_grant", data__repo=repo.key)
    assert grants.exists()
    control = platforms.control
    control.delete_channel(channel.external_id)
    control.delete_repo(f"{ORG}/{repo.key}")
    with on_commit():
        course_verify(course=lab)
    # Discord deleted the channel's invite links with it; the teams' grants went with the
    # repository.
    assert _drift(lab) == {
        ("channel", channel.key, "missing"),
        ("repository", repo.key, "missing"),
        ("protection", repo.key, "missing"),
        ("invite", "group-1", "missing"),
        ("invite", "staff", "missing"),
    } | {("team_grant", grant.key, "missing") for grant in grants}

    with on_commit():
        course_repair(course=lab)

    def staff_overwrite(role_id: str) -> bool:
        guild = guild_of(platforms.state(), lab)
        return role_id in {o[0] for o in overwrites_of(channel_named(guild, channel.key))}

    assert staff_overwrite(staff.external_id)  # the channel made again has it
    # Discord deleted the group's invite link with its channel: a new one, on the new channel.
    link = _resource(lab, "invite", "group-1")
    assert link.data["channel_id"] == _resource(lab, "channel", channel.key).external_id
    joined = control.accept_discord_invite(link.external_id, "new-student")
    group_role = _resource(lab, "role", "group-1").external_id
    assert group_role in {str(role) for role in joined.get("roles", [])}
    assert not drift_report_latest(course=lab).drifted
    assert grants.count() == 2  # given again on the repository made again
    github = github_client()
    for grant in grants:
        permission = github.get_team_repo_permission(grant.data["team"], repo.key)
        assert permission == grant.data["permission"]

    # The staff role itself deleted: made again, its new id in every channel.
    control.delete_role(lab.discord_guild_id, staff.external_id)
    with on_commit():
        course_verify(course=lab)
    assert _drift(lab) == {
        ("role", "staff", "missing"),
        ("channel", channel.key, "changed"),
        ("invite", "staff", "changed"),  # the link no longer gives the role: made anew
    }
    with on_commit():
        course_repair(course=lab)
    new_staff = _resource(lab, "role", "staff").external_id
    assert new_staff != staff.external_id and staff_overwrite(new_staff)
    assert_no_duplicates(platforms.state())
    with on_commit():
        course_verify(course=lab)
    assert _drift(lab) == set()


def _synced(provision, on_commit, **options: Any) -> Course:
    """A course provisioned, then its roster (one instructor) synced: the staff role has an
    overwrite in every channel (a ``staff_access`` row each) and invite links exist."""
    course: Course = provision(**options)
    CourseMember.objects.create(
        course=course, role=CourseMember.Role.INSTRUCTOR, name="Ines", github_username="ines-prof"
    )
    with on_commit():
        members_sync(course=course)
    course.refresh_from_db()
    assert course.status == Course.Status.COMPLETED
    return course


def _staff_access_recorded(course: Course, channel_key: str) -> None:
    """The new channel's staff access is in the ledger, as the roster sync would record it."""
    staff = _resource(course, "role", "staff").external_id
    channel = _resource(course, "channel", channel_key)
    access = _resource(course, "staff_access", channel_key)
    assert (access.state, access.external_id) == ("confirmed", channel.external_id)
    assert access.data == {"role_id": staff, "allow": STAFF_ALLOW, "deny": 0}
    recorded = {(str(o["id"]), int(o["allow"]), int(o["deny"])) for o in channel.data["overwrites"]}
    assert (staff, STAFF_ALLOW, 0) in recorded


@pytest.mark.parametrize(
    ("options", "deleted", "links"),
    [
        ({"name": "Compilers"}, "qa-help", 0),
        # Discord deletes a channel's invite links with it: the group's link is made anew.
        ({"name": "Systems", "type": "LABORATORY", "groups": ("Alpha", "Beta")}, "group-2-beta", 1),
    ],
    ids=["lecture", "laboratory"],
)
def test_a_channel_made_again_on_a_synced_course_is_one_create_with_the_staff_overwrite(
    platforms, provision, on_commit, settings, options, deleted, links
):
    """Not a create, then a PUT of the staff role's overwrite: the create carries it, the
    ``staff_access`` row is recorded without a call, and a re-run, a verify and a roster sync
    afterwards find nothing to write."""
    settings.GITHUB_WRITE_BUDGET = "100000/60"
    platforms.add_servers(1)
    synced = _synced(provision, on_commit, **options)
    staff = _resource(synced, "role", "staff").external_id
    control = platforms.control
    control.delete_channel(_resource(synced, "channel", deleted).external_id)
    with on_commit():
        course_verify(course=synced)
    seen = len(control.requests())

    with on_commit():
        operation = course_repair(course=synced)

    calls = control.requests(since=seen)
    channel = _resource(synced, "channel", deleted)
    guild = synced.discord_guild_id
    assert (
        _writes(calls)
        == [("POST", f"/guilds/{guild}/channels")]
        + [("POST", f"/channels/{channel.external_id}/invites")] * links
    )
    [create] = [c for c in calls if c["method"] == "POST" and c["path"].endswith("/channels")]
    sent = {
        (str(o["id"]), int(o["allow"]), int(o["deny"]))
        for o in create["body"]["permission_overwrites"]
    }
    assert (staff, STAFF_ALLOW, 0) in sent
    _staff_access_recorded(synced, deleted)
    assert not drift_report_latest(course=synced).drifted

    # A re-run (a redelivered task), a verify and a re-sync: no write.
    seen = len(control.requests())
    operation.steps.update(status="PENDING")
    Course.objects.filter(id=synced.id).update(status="PENDING")
    runner.run_course(synced.id)
    with on_commit():
        course_verify(course=synced)
    assert _drift(synced) == set()
    with on_commit():
        members_sync(course=synced)
    assert _writes(control.requests(since=seen)) == []
    assert_no_duplicates(platforms.state())


def test_a_crash_between_the_channel_create_and_its_record_makes_neither_twice(
    platforms, provision, on_commit, settings, monkeypatch
):
    """The retry finds the channel it made (with the staff overwrite already on it): no second
    channel, no PUT of the overwrite."""
    platforms.add_servers(1)
    lecture = _synced(provision, on_commit, name="Compilers")
    control = platforms.control
    control.delete_channel(_resource(lecture, "channel", "qa-help").external_id)
    with on_commit():
        course_verify(course=lecture)
    seen = len(control.requests())
    confirm = resources._confirm

    def crash_once(resource, found):
        monkeypatch.setattr(resources, "_confirm", confirm)
        raise SimulatedCrash(resource.key)

    monkeypatch.setattr(resources, "_confirm", crash_once)
    with pytest.raises(SimulatedCrash, match="qa-help"), on_commit():
        course_repair(course=lecture)

    settings.PROVISIONING_LEASE_SECONDS = 0  # the dead run's claim is stale at once
    assert runner.run_course(lecture.id).outcome == "COMPLETED"
    guild = lecture.discord_guild_id
    assert _writes(control.requests(since=seen)) == [("POST", f"/guilds/{guild}/channels")]
    _staff_access_recorded(lecture, "qa-help")
    assert not drift_report_latest(course=lecture).drifted
    assert_no_duplicates(platforms.state())
