"""Verify and repair of what a roster sync made: GitHub teams and their grants, Discord invite
links. Memberships are not checked (people accept or leave on their own)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from courses.models import Course, CourseMember
from provisioning.context import github_client
from provisioning.models import ExternalResource, Operation
from provisioning.operations import course_lock_idle, operation_start
from provisioning.people import members_sync
from provisioning.repair import course_repair, repair_plan
from provisioning.services import provisioning_retry
from provisioning.verify import course_verify, drift_report_latest

pytestmark = pytest.mark.django_db

ROSTER_KINDS = {"team", "team_grant", "invite"}


@pytest.fixture
def synced(platforms, provision, on_commit, settings) -> Course:
    settings.GITHUB_WRITE_BUDGET = "100000/60"
    platforms.add_servers(1)
    lab = provision(name="Networks", type="LABORATORY", groups=("Alpha", "Beta"))
    CourseMember.objects.create(
        course=lab, role=CourseMember.Role.INSTRUCTOR, name="Ines", github_username="ines-prof"
    )
    CourseMember.objects.create(
        course=lab, role=CourseMember.Role.TA, name="Tara", email="tara@uni.example"
    )
    with on_commit():
        members_sync(course=lab)
    lab.refresh_from_db()
    assert lab.status == Course.Status.COMPLETED
    return lab


def _rows(course: Course, kind: str) -> list[ExternalResource]:
    return list(ExternalResource.objects.filter(course=course, kind=kind).order_by("key"))


def _report(course: Course) -> list[dict[str, Any]]:
    report = drift_report_latest(course=course)
    assert report is not None
    return report.resources


def _drift(course: Course) -> set[tuple[str, str, str]]:
    return {(r["kind"], r["key"], r["state"]) for r in _report(course) if r["state"] != "ok"}


def _writes(calls: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(c["method"], c["path"]) for c in calls if c["method"] != "GET"]


def test_an_untouched_synced_course_verifies_its_teams_grants_and_links_with_one_read_each(
    synced, platforms, on_commit
):
    teams, grants = _rows(synced, "team"), _rows(synced, "team_grant")
    invites = _rows(synced, "invite")
    assert (len(teams), len(grants), len(invites)) == (3, 4, 3)
    control = platforms.control
    seen = len(control.requests())
    with on_commit():
        course_verify(course=synced)
    calls = control.requests(since=seen)
    assert {c["method"] for c in calls} == {"GET"}
    discord = [c for c in calls if c["provider"] == "discord"]
    github = [c for c in calls if c["provider"] == "github"]
    # server, channels, roles, and one listing for every invite link.
    assert len(discord) == 3 + 1
    # per repository its own read and its protection's; one per team, one per grant.
    assert len(github) == 2 * 2 + len(teams) + len(grants)
    checked = {(r["kind"], r["key"]): r["state"] for r in _report(synced)}
    expected = {(row.kind, row.key) for row in teams + grants + invites}
    assert {key: checked[key] for key in expected} == dict.fromkeys(expected, "ok")
    assert "membership" not in {kind for kind, _ in checked}
    assert not drift_report_latest(course=synced).drifted


def test_teams_grants_and_links_changed_by_hand_are_reported_and_repaired(
    synced, platforms, on_commit, sandbox
):
    github = github_client()
    staff = next(t for t in _rows(synced, "team") if t.data["purpose"] == "staff")
    group2 = next(t for t in _rows(synced, "team") if t.data["purpose"] == "group-2")
    staff_grants = {g.key for g in _rows(synced, "team_grant") if g.data["team"] == staff.key}
    loosened = next(g for g in _rows(synced, "team_grant") if g.data["team"] == group2.key)
    link = next(i for i in _rows(synced, "invite") if i.key == "group-2")
    memberships = ExternalResource.objects.filter(course=synced, kind="membership")
    kept = set(memberships.filter(data__invites=True).values_list("id", flat=True))
    assert kept  # the staff's: organization invitations the staff team sent
    # A staff member already in the organization (no invitation): a membership of the team.
    member = memberships.first()
    member.pk, member.key = None, f"member-in-org:{staff.key}"
    member.data = {**member.data, "invites": False, "state": "active"}
    member.save()

    assert github.delete_team_if_present(staff.data["slug"])
    github.grant_team_repo(group2.data["slug"], loosened.data["repo"], permission="pull")
    # Staff delete the link in Discord's app (no route for the bot's client): in the sandbox.
    fake = sandbox.sandbox.platforms["discord"]
    with sandbox.sandbox.lock:
        del fake.state.guilds[synced.discord_guild_id].invites[link.external_id]

    with on_commit():
        course_verify(course=synced)
    assert _drift(synced) == {
        ("team", staff.key, "missing"),
        ("team_grant", loosened.key, "changed"),
        ("invite", link.key, "missing"),
    } | {("team_grant", key, "missing") for key in staff_grants}
    changed = next(r for r in _report(synced) if r["key"] == loosened.key)
    assert changed["differences"] == {"permission": {"expected": "push", "actual": "pull"}}
    plan = repair_plan(course=synced)["changes"]
    assert any(f"GitHub team {staff.key}" in line for line in plan)

    with on_commit():
        course_repair(course=synced)
    assert not drift_report_latest(course=synced).drifted
    with on_commit():
        course_verify(course=synced)
    assert _drift(synced) == set()
    assert github.get_team(staff.data["slug"]) is not None
    for grant in _rows(synced, "team_grant"):
        assert (
            github.get_team_repo_permission(grant.data["team"], grant.data["repo"])
            == (grant.data["permission"])
        )
    new_link = _rows(synced, "invite")
    assert link.external_id not in {i.external_id for i in new_link}
    joined = platforms.control.accept_discord_invite(
        next(i for i in new_link if i.key == "group-2").external_id, "late-student"
    )
    assert joined  # the new link works
    # The invitation ledger keeps its rows whatever became of the team; the rest went with it.
    assert set(memberships.values_list("id", flat=True)) == kept

    # Repaired: a repair forced again writes nothing.
    control = platforms.control
    seen = len(control.requests())
    with on_commit(), transaction.atomic():
        locked = course_lock_idle(course=synced)
        forced = operation_start(course=locked, kind=Operation.Kind.REPAIR)
    forced.refresh_from_db()
    assert forced.status == "COMPLETED"
    assert _writes(control.requests(since=seen)) == []


def test_a_team_made_again_by_someone_else_is_not_taken_over_by_repair(
    synced, platforms, on_commit
):
    """Another id under our team's slug is a stranger's team: repair neither records it as ours
    nor grants it the course's repositories (a tear down would then delete it), and says what to
    do; once it is out of the way, ours is made again."""
    github = github_client()
    staff = next(t for t in _rows(synced, "team") if t.data["purpose"] == "staff")
    slug = staff.data["slug"]
    assert github.delete_team_if_present(slug)
    theirs = github.ensure_team(staff.data["name"], description="Someone else's")
    with on_commit():
        course_verify(course=synced)
    assert ("team", staff.key, "changed") in _drift(synced)
    plan = repair_plan(course=synced)["changes"]
    assert any(f"GitHub team {staff.key}: deleted by hand and another" in line for line in plan)

    with on_commit():
        repair = course_repair(course=synced)
    repair.refresh_from_db()

    assert repair.status == Operation.Status.FAILED
    failed = repair.steps.get(status="FAILED")
    assert f"GitHub team {slug}" in failed.last_error and "not this course's" in failed.last_error
    team = platforms.state()["github"]["orgs"][github.org]["people"]["teams"][slug]
    assert team["id"] == theirs.id and team["repos"] == {}
    assert not ExternalResource.objects.filter(
        course=synced, kind="team", key=staff.key, state="confirmed"
    ).exists()

    # Staff delete the stranger's team (or rename it): the retry makes ours with its grants.
    assert github.delete_team_if_present(slug)
    with on_commit():
        provisioning_retry(course=synced)
    repair.refresh_from_db()
    assert repair.status == Operation.Status.COMPLETED
    made = github.get_team(slug)
    assert made is not None and made.id != theirs.id
    [row] = [t for t in _rows(synced, "team") if t.key == staff.key]
    assert (row.state, row.external_id) == ("confirmed", str(made.id))
    staff_grants = [g for g in _rows(synced, "team_grant") if g.data["team"] == staff.key]
    assert staff_grants and all(
        github.get_team_repo_permission(slug, g.data["repo"]) == "maintain" for g in staff_grants
    )


def test_a_team_whose_marker_was_edited_out_is_reported_and_left_to_staff(
    synced, platforms, on_commit, sandbox
):
    """Our team (the recorded id) whose description lost the course's marker: the roster sync
    sends it nothing and the tear down leaves it, so verify reports it from the read it makes
    anyway, and the repair plan says what staff do. Repair neither writes the marker back (the
    id alone does not prove the team ours) nor forgets the team: it writes nothing to GitHub and
    the team stays in its report until staff put the marker back."""
    github = github_client()
    staff = next(t for t in _rows(synced, "team") if t.data["purpose"] == "staff")
    slug, marker = staff.data["slug"], f"[course:{synced.id}]"
    fake = sandbox.sandbox.platforms["github"]
    with sandbox.sandbox.lock:  # staff edit the team's description on GitHub
        fake.state.org(github.org).teams[slug].description = "Systems staff"
    control = platforms.control
    seen = len(control.requests())

    with on_commit():
        course_verify(course=synced)

    assert _drift(synced) == {("team", staff.key, "changed")}
    [entry] = [r for r in _report(synced) if r["kind"] == "team" and r["key"] == staff.key]
    assert entry["differences"] == {"marker": {"expected": True, "actual": False}}
    teams, grants = _rows(synced, "team"), _rows(synced, "team_grant")
    github_reads = [c for c in control.requests(since=seen) if c["provider"] == "github"]
    assert len(github_reads) == 2 * 2 + len(teams) + len(grants)  # no read more than untouched
    [line] = [line for line in repair_plan(course=synced)["changes"] if slug in line]
    assert f"lacks this course's marker {marker}" in line
    assert "put the marker back" in line and "rename or delete it on GitHub" in line

    seen = len(control.requests())
    with on_commit():
        repair = course_repair(course=synced)
    repair.refresh_from_db()
    assert repair.status == Operation.Status.COMPLETED
    assert _writes(control.requests(since=seen)) == []
    assert _drift(synced) == {("team", staff.key, "changed")}
    assert [t.key for t in _rows(synced, "team")] == [t.key for t in teams]
    assert len(_rows(synced, "team_grant")) == len(grants)

    # Staff put the marker back: verify finds nothing.
    with sandbox.sandbox.lock:
        fake.state.org(github.org).teams[slug].description = f"Systems staff {marker}"
    with on_commit():
        course_verify(course=synced)
    assert _drift(synced) == set()
