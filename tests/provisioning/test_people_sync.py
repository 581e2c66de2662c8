"""The roster sync (SYNC_MEMBERS) against the sandbox over HTTP: one write per thing made, none on
a re-sync, exactly the removals, no duplicate after a crash anywhere, the invitation budget kept
(members wait instead of GitHub refusing), and invite links that give their role."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from courses.models import Course, CourseMember
from provisioning import resources, runner
from provisioning.models import ExternalResource, Operation
from provisioning.operations import OperationBusyError, OperationNotAllowedError
from provisioning.people import invitations_due, members_sync, roster_syncs_due
from provisioning.steps import CHANGE_STEPS
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db

ORG = "test-university"
FREE_ORG = "free-university"
DAY = 24 * 3600
Role = CourseMember.Role
State = CourseMember.GitHubState


class SimulatedCrash(BaseException):
    """The process dies here."""


@pytest.fixture(autouse=True)
def _unpaced(settings):
    """GitHub's write pacing (70 a minute) is not what these tests look at: a 120-student sync
    would wait two minutes for it."""
    settings.GITHUB_WRITE_BUDGET = "100000/60"


def _lab(platforms, provision, groups: int, name: str = "Systems") -> Course:
    platforms.add_servers(1)
    course = provision(
        name=name, type="LABORATORY", groups=tuple(f"G{n}" for n in range(1, groups + 1))
    )
    assert course.status == Course.Status.COMPLETED
    return course


def _staff(course: Course) -> list[CourseMember]:
    return [
        CourseMember.objects.create(
            course=course, role=Role.INSTRUCTOR, name="Ines", github_username="ines-prof"
        ),
        CourseMember.objects.create(
            course=course, role=Role.TA, name="Tom", github_username="tom-ta"
        ),
        CourseMember.objects.create(
            course=course, role=Role.TA, name="Tara", email="tara@uni.example"
        ),
    ]


def _students(
    course: Course, count: int, *, every_email: int = 3, prefix: str = ""
) -> list[CourseMember]:
    """Every ``every_email``-th student has only an email, the others a GitHub username; spread
    over the lab groups in turn."""
    groups = list(course.lab_groups.order_by("number"))
    made = []
    for number in range(count):
        by_email = number % every_email == 0
        made.append(
            CourseMember(
                course=course,
                role=Role.STUDENT,
                name=f"Student {number}",
                lab_group=groups[number % len(groups)] if groups else None,
                email=f"{prefix}s{number}@uni.example" if by_email else "",
                github_username="" if by_email else f"{prefix}student-{number}",
            )
        )
    return CourseMember.objects.bulk_create(made)


def _sync(on_commit, course: Course) -> Operation:
    with on_commit():
        operation = members_sync(course=course)
    operation.refresh_from_db()
    course.refresh_from_db()
    return operation


def _writes(calls: list[dict[str, Any]]) -> Counter[tuple[str, str, str]]:
    return Counter((c["provider"], c["method"], c["route"]) for c in calls if c["method"] != "GET")


def _people(platforms, org: str = ORG) -> dict[str, Any]:
    people: dict[str, Any] = platforms.state()["github"]["orgs"][org]["people"]
    return people


MEMBERSHIP_PUT = ("github", "PUT", "/orgs/{org}/teams/{team_slug}/memberships/{username}")
MEMBERSHIP_DELETE = ("github", "DELETE", "/orgs/{org}/teams/{team_slug}/memberships/{username}")
INVITATION_POST = ("github", "POST", "/orgs/{org}/invitations")
INVITATION_DELETE = ("github", "DELETE", "/orgs/{org}/invitations/{invitation_id}")
INVITATION_TEAMS = "/orgs/{org}/invitations/{invitation_id}/teams"
TEAM_READ = "/orgs/{org}/teams/{team_slug}"


# -- (1) one write per thing, (2) none on a re-sync ---------------------------------------------
def test_first_sync_of_a_lab_writes_once_per_thing_and_a_resync_writes_nothing(
    platforms, provision, on_commit, settings
):
    settings.GITHUB_INVITATION_BUDGET = 500  # the org is on the Team plan: GitHub allows 500
    course = _lab(platforms, provision, groups=4)
    _staff(course)
    students = _students(course, 120)
    usernames = 2 + sum(1 for s in students if s.github_username)
    emails = 1 + sum(1 for s in students if not s.github_username)
    seen = len(platforms.requests())

    operation = _sync(on_commit, course)

    assert (operation.kind, operation.status) == ("SYNC_MEMBERS", "COMPLETED")
    assert course.status == Course.Status.COMPLETED
    calls = platforms.requests()[seen:]
    assert _writes(calls) == {
        ("discord", "POST", "/guilds/{guild_id}/roles"): 1,  # the staff role
        ("discord", "PUT", "/channels/{channel_id}/permissions/{overwrite_id}"): 4,
        ("discord", "POST", "/channels/{channel_id}/invites"): 4 + 1,  # groups and staff
        ("github", "POST", "/orgs/{org}/teams"): 1 + 4,  # staff and groups
        ("github", "PUT", "/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}"): 4 + 4,
        MEMBERSHIP_PUT: usernames,
        INVITATION_POST: emails,
    }
    assert {c["status"] for c in calls if c["method"] != "GET"} <= {200, 201, 204}
    reads = [(c["route"], c["status"]) for c in calls if c["method"] == "GET"]
    # each team looked up before it is made, and read again (still ours) before its first seat
    assert reads == [(TEAM_READ, 404)] * 5 + [(TEAM_READ, 200)] * 5
    assert usernames + emails == 123
    people = _people(platforms)
    assert len(people["invitations"]) == 123
    assert sorted(people["teams"]) == sorted(
        ["2026-fall-systems-staff"] + [f"2026-fall-systems-group-{n}" for n in range(1, 5)]
    )
    staff_team = people["teams"]["2026-fall-systems-staff"]
    assert sorted(staff_team["memberships"]) == ["ines-prof", "tom-ta"]
    assert set(staff_team["repos"].values()) == {"maintain"}
    assert len(staff_team["repos"]) == 4
    assert Counter(CourseMember.objects.values_list("github_state", flat=True)) == {
        State.PENDING: 123
    }
    assert operation.params["detail"] == "No invitation waiting."

    seen = len(platforms.requests())
    again = _sync(on_commit, course)
    assert again.status == "COMPLETED"
    calls = platforms.requests()[seen:]
    assert _writes(calls) == {}
    # reads only: the pending invitations listed (2 pages), nothing per member
    assert [c["route"] for c in calls] == ["/orgs/{org}/invitations"] * 2


# -- (2) removals: exactly one write each ---------------------------------------------------------
def test_removing_three_students_sends_exactly_three_removals(platforms, provision, on_commit):
    course = _lab(platforms, provision, groups=2)
    _staff(course)
    students = _students(course, 9)
    _sync(on_commit, course)
    gone = [students[0], students[1], students[2]]  # an email, two usernames
    invitation_id = ExternalResource.objects.get(member=students[0], kind="membership").external_id
    CourseMember.objects.filter(id__in=[m.id for m in gone]).update(removed_at=timezone.now())
    seen = len(platforms.requests())

    operation = _sync(on_commit, course)

    assert operation.status == "COMPLETED"
    assert _writes(platforms.requests()[seen:]) == {MEMBERSHIP_DELETE: 2, INVITATION_DELETE: 1}
    people = _people(platforms)
    assert invitation_id not in {str(i["id"]) for i in people["invitations"]}
    logins = {i["login"] for i in people["invitations"]}
    assert "student-1" not in logins and "student-2" not in logins
    assert len(people["invitations"]) == 12 - 3
    for member in gone:
        member.refresh_from_db()
        assert member.github_state == State.REMOVED
    assert "cancelled" in CourseMember.objects.get(id=students[0].id).github_detail
    # the records stay, retired, and a re-sync sends nothing
    retired = ExternalResource.objects.filter(course=course, key__contains="~")
    assert retired.count() == 3 and all(r.data["removed"] for r in retired)
    seen = len(platforms.requests())
    _sync(on_commit, course)
    assert _writes(platforms.requests()[seen:]) == {}


# -- (3) crashes: at every step boundary, and between a call and its record ----------------------
SYNC_STEPS = list(CHANGE_STEPS["SYNC_MEMBERS"])


def _small_roster(course: Course) -> None:
    _staff(course)
    _students(course, 4, every_email=2)


def _finish_and_check(platforms, course: Course, settings) -> None:
    settings.PROVISIONING_LEASE_SECONDS = 0  # the dead run's claim is stale at once
    result = runner.run_course(course.id)
    course.refresh_from_db()
    assert result.outcome == "COMPLETED", course.steps.values_list("name", "last_error")
    calls = platforms.requests()
    assert all(c["status"] in (200, 201, 204) for c in calls if c["method"] != "GET"), [
        c for c in calls if c["status"] not in (200, 201, 204)
    ]
    writes = _writes(calls)
    # nothing made twice: 7 people -> 7 invitations, one link per group and one for staff
    assert writes[INVITATION_POST] == 3
    assert writes[("discord", "POST", "/channels/{channel_id}/invites")] == 3
    assert writes[("discord", "POST", "/guilds/{guild_id}/roles")] == 2 + 1
    assert writes[("github", "POST", "/orgs/{org}/teams")] == 3
    people = _people(platforms)
    assert len(people["invitations"]) == 7 and people["invitations_sent"] == 7
    guild = platforms.state()["discord"]["guilds"][course.discord_guild_id]
    assert len(guild["invites"]) == 3
    assert Counter(r["name"] for r in guild["roles"])["Course staff"] == 1
    states = set(CourseMember.objects.values_list("github_state", flat=True))
    assert states == {State.PENDING}
    assert not ExternalResource.objects.filter(course=course, state="intended").exists()


@pytest.mark.parametrize("step_name", SYNC_STEPS)
def test_crash_after_a_sync_step_before_its_checkpoint(
    platforms, provision, on_commit, settings, monkeypatch, step_name
):
    course = _lab(platforms, provision, groups=2)
    _small_roster(course)
    finish = runner._finish_step

    def crash_once(step, status, error):
        if step.name == step_name and status == "COMPLETED":
            monkeypatch.setattr(runner, "_finish_step", finish)
            raise SimulatedCrash(step_name)
        finish(step, status, error)

    monkeypatch.setattr(runner, "_finish_step", crash_once)
    with pytest.raises(SimulatedCrash):
        _sync(on_commit, course)
    assert course.steps.get(name=step_name).status == "IN_PROGRESS"
    _finish_and_check(platforms, course, settings)


CRASH_POINTS = [
    ("staff role", lambda r: r.kind == "role"),
    ("staff access", lambda r: r.kind == "staff_access"),
    ("invite link", lambda r: r.kind == "invite"),
    ("team", lambda r: r.kind == "team"),
    ("team grant", lambda r: r.kind == "team_grant"),
    ("membership", lambda r: r.kind == "membership" and r.data.get("kind") == "membership"),
    ("invitation", lambda r: r.kind == "membership" and r.data.get("kind") == "invitation"),
]


@pytest.mark.parametrize(("what", "matches"), CRASH_POINTS, ids=[p[0] for p in CRASH_POINTS])
def test_crash_between_a_call_and_its_record(
    platforms, provision, on_commit, settings, monkeypatch, what, matches
):
    course = _lab(platforms, provision, groups=2)
    _small_roster(course)
    confirm = resources._confirm
    crashed: list[str] = []

    def crash_once(resource, found):
        if not crashed and matches(resource) and resource.course_id == course.id:
            crashed.append(resource.key)
            raise SimulatedCrash(resource.key)
        confirm(resource, found)

    monkeypatch.setattr(resources, "_confirm", crash_once)
    with pytest.raises(SimulatedCrash):
        _sync(on_commit, course)
    monkeypatch.setattr(resources, "_confirm", confirm)
    assert course.resources.filter(key=crashed[0], state="intended").exists()
    _finish_and_check(platforms, course, settings)
    # the invitation found for the email is ours by its team: one read, on that recovery only
    teams_read = [c for c in platforms.requests() if c["route"] == INVITATION_TEAMS]
    assert len(teams_read) == (1 if what == "invitation" else 0)


# -- (4) the invitation budget: members wait, GitHub never refuses ------------------------------
def test_invitations_over_the_budget_wait_then_go_when_the_window_frees(
    platforms, provision, on_commit, settings
):
    platforms.control.create_org(FREE_ORG, plan="free")  # GitHub: 50 invitations per 24 h
    settings.PROVISIONING_SKIP_UNAVAILABLE_PROTECTION = True  # the Free plan protects nothing
    platforms.add_servers(2)
    course = provision(name="Databases", github_org=FREE_ORG)
    students = _students(course, 60, every_email=1)

    operation = _sync(on_commit, course)

    assert operation.status == "COMPLETED"
    calls = platforms.requests()
    assert _writes(calls)[INVITATION_POST] == 50
    assert not any("Over invitation limit" in str(c.get("body")) for c in calls)
    assert all(c["status"] != 422 for c in calls)
    waiting = CourseMember.objects.filter(github_state=State.WAITING)
    assert waiting.count() == 10
    first = ExternalResource.objects.filter(kind="membership").order_by("created_at").first()
    soon = first.created_at + timedelta(hours=24)
    for member in waiting:
        assert soon <= member.waiting_until <= soon + timedelta(minutes=6)
        assert "sent from" in member.github_detail
    assert operation.params["detail"].startswith("10 invitations waiting; next at ")
    assert operation.params["github"]["waiting"] == 10
    # The budget is the organization's: another course of it waits too, without asking GitHub.
    other = provision(name="Networks", github_org=FREE_ORG)
    [late] = _students(other, 1, every_email=1, prefix="net-")
    seen = len(platforms.requests())
    _sync(on_commit, other)
    assert _writes(platforms.requests()[seen:]).get(INVITATION_POST) is None
    late.refresh_from_db()
    assert late.github_state == State.WAITING

    assert invitations_due() == []  # nothing is due yet
    # A day passes, on GitHub's clock and on ours.
    platforms.control.advance_github_clock(DAY)
    day_ago = timedelta(hours=25)
    for resource in ExternalResource.objects.filter(kind="membership"):
        ExternalResource.objects.filter(id=resource.id).update(
            created_at=resource.created_at - day_ago
        )
    for member in CourseMember.objects.filter(github_state=State.WAITING):
        CourseMember.objects.filter(id=member.id).update(
            waiting_until=member.waiting_until - day_ago
        )
    seen = len(platforms.requests())
    with on_commit():
        started = invitations_due()
    assert sorted(started) == sorted([course.id, other.id])

    calls = platforms.requests()[seen:]
    assert _writes(calls) == {INVITATION_POST: 11}
    assert all(c["status"] != 422 for c in calls), [c for c in calls if c["status"] == 422]
    people = _people(platforms, FREE_ORG)
    emails = [i["email"] for i in people["invitations"]]
    assert len(emails) == len(set(emails)) == 61
    assert {m.email for m in students} | {late.email} == set(emails)
    assert not CourseMember.objects.filter(github_state=State.WAITING).exists()
    assert invitations_due() == []


# -- (5) a group's invite link gives its role; staff see every channel ---------------------------
def test_group_invite_gives_the_group_role_and_staff_role_sees_every_channel(
    platforms, provision, on_commit
):
    course = _lab(platforms, provision, groups=2)
    _sync(on_commit, course)
    links = {r.key: r for r in ExternalResource.objects.filter(course=course, kind="invite")}
    assert sorted(links) == ["group-1", "group-2", "staff"]
    assert all(r.url == f"https://discord.gg/{r.external_id}" for r in links.values())
    role = {
        r.key: r.external_id for r in ExternalResource.objects.filter(course=course, kind="role")
    }
    joined = platforms.control.accept_discord_invite(links["group-2"].external_id, "ada")
    assert joined["roles"] == [role["group-2"]]
    assert links["group-2"].data["role_ids"] == [role["group-2"]]
    joined = platforms.control.accept_discord_invite(links["staff"].external_id, "prof")
    assert joined["roles"] == [role["staff"]]
    guild = platforms.state()["discord"]["guilds"][course.discord_guild_id]
    assert {i["max_age"] for i in guild["invites"]} == {0}  # never expiring by default
    for channel in ExternalResource.objects.filter(course=course, kind="channel"):
        [live] = [c for c in guild["channels"] if c["id"] == channel.external_id]
        staff = [o for o in live["permission_overwrites"] if o["id"] == role["staff"]]
        assert staff and int(staff[0]["allow"]) == 68608
    # verify sees the staff access as expected, not as drift
    from provisioning.verify import course_verify, drift_report_latest

    with on_commit():
        course_verify(course=course)
    assert not drift_report_latest(course=course).drifted


# -- people GitHub refuses, state read back, a lecture's students team ----------------------------
def test_lecture_sync_fails_only_the_refused_person_and_reads_state_back(
    platforms, provision, on_commit, settings
):
    settings.LECTURE_STUDENT_PERMISSION = "triage"
    settings.DISCORD_INVITE_MAX_AGE = 3600
    platforms.add_servers(1)
    course = provision(name="Compilers")
    platforms.control.block_github_org(ORG, "troll")
    ada = CourseMember.objects.create(course=course, name="Ada", github_username="ada")
    troll = CourseMember.objects.create(course=course, name="Troll", github_username="troll")
    nobody = CourseMember.objects.create(course=course, name="X", github_username="-bad-")
    bob = CourseMember.objects.create(course=course, name="Bob", email="bob@uni.example")

    operation = _sync(on_commit, course)

    assert operation.status == "COMPLETED"
    for member in (ada, troll, nobody, bob):
        member.refresh_from_db()
    assert (ada.github_state, bob.github_state) == (State.PENDING, State.PENDING)
    assert troll.github_state == State.FAILED and "blocked" in troll.github_detail
    assert nobody.github_state == State.FAILED and "no user named -bad-" in nobody.github_detail
    refused = ExternalResource.objects.filter(member__in=[troll, nobody])
    assert {r.data["state"] for r in refused} == {"refused"}
    assert not any(r.data["invites"] for r in refused)  # not counted against the budget
    people = _people(platforms)
    assert people["teams"]["2026-fall-compilers-students"]["repos"] == {
        str(ExternalResource.objects.get(course=course, kind="repository").external_id): "triage"
    }
    links = ExternalResource.objects.filter(course=course, kind="invite")
    assert sorted(links.values_list("key", flat=True)) == ["members", "staff"]
    assert {(r.data["max_age"], bool(r.data["expires_at"])) for r in links} == {(3600, True)}

    # Ada accepts: the next sync reads it back (reads only).
    platforms.control.accept_github_invitation(ORG, login="ada")
    seen = len(platforms.requests())
    _sync(on_commit, course)
    assert _writes(platforms.requests()[seen:]) == {}
    for member in (ada, troll, bob):
        member.refresh_from_db()
    assert (ada.github_state, bob.github_state) == (State.ACTIVE, State.PENDING)
    assert troll.github_state == State.FAILED  # not asked again: nothing changed for them

    # The roster gets the troll's right username: a new identity, asked anew.
    CourseMember.objects.filter(id=troll.id).update(github_username="trevor")
    seen = len(platforms.requests())
    _sync(on_commit, course)
    assert _writes(platforms.requests()[seen:]) == {MEMBERSHIP_PUT: 1}
    troll.refresh_from_db()
    assert troll.github_state == State.PENDING


# -- refusals of the service ---------------------------------------------------------------------
def test_members_sync_is_refused_when_busy_failed_archived_or_deleted():
    course = CourseFactory(status=Course.Status.COMPLETED)
    Operation.objects.create(course=course, kind=Operation.Kind.VERIFY)
    with pytest.raises(OperationBusyError):
        members_sync(course=course)
    failed = CourseFactory(status=Course.Status.FAILED)
    with pytest.raises(OperationNotAllowedError, match="must complete first"):
        members_sync(course=failed)
    archived = CourseFactory(status=Course.Status.COMPLETED, archived_at=timezone.now())
    with pytest.raises(OperationNotAllowedError, match="archived"):
        members_sync(course=archived)
    deleted = CourseFactory(status=Course.Status.COMPLETED, deleted_at=timezone.now())
    with pytest.raises(OperationNotAllowedError, match="torn down"):
        members_sync(course=deleted)
    assert not Operation.objects.filter(kind=Operation.Kind.SYNC_MEMBERS).exists()


# -- review: an intent from a run that died long ago is counted again before its call -------------
def test_an_intent_older_than_the_window_is_spent_again_before_its_invitation_goes(
    platforms, provision, on_commit, settings, monkeypatch
):
    """The ledger counts an invitation from its intent's time: an intent whose call never went
    (the run died, or the step failed, and was resumed a day later) must be counted again when
    its invitation is finally sent, or the organization's budget is overspent."""
    from integrations.github.client import GitHubClient

    settings.GITHUB_INVITATION_BUDGET = 1
    platforms.add_servers(1)
    course = provision(name="Compilers")
    early = CourseMember.objects.create(course=course, name="Early", email="early@uni.example")
    invite = GitHubClient.invite_to_org

    def die_before_the_call(self, **kwargs):
        raise SimulatedCrash("before the invitation's call")

    monkeypatch.setattr(GitHubClient, "invite_to_org", die_before_the_call)
    with pytest.raises(SimulatedCrash):
        _sync(on_commit, course)
    monkeypatch.setattr(GitHubClient, "invite_to_org", invite)
    intent = ExternalResource.objects.get(course=course, kind="membership", state="intended")
    # The run is resumed a day later; meanwhile someone else joined the roster.
    ExternalResource.objects.filter(id=intent.id).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    late = CourseMember.objects.create(course=course, name="Late", email="late@uni.example")
    seen = len(platforms.requests())
    settings.PROVISIONING_LEASE_SECONDS = 0
    assert runner.run_course(course.id).outcome == "COMPLETED"

    assert _writes(platforms.requests()[seen:])[INVITATION_POST] == 1  # the budget: one a day
    early.refresh_from_db()
    late.refresh_from_db()
    assert (early.github_state, late.github_state) == (State.PENDING, State.WAITING)


def _email_intent_beside_an_invitation_not_ours(
    platforms, provision, on_commit, monkeypatch, whose: str
) -> tuple[Course, CourseMember, dict[str, Any]]:
    """Ada's email already has a pending invitation in the organization that is not the
    Compilers course's (Networks' team, or no team: sent by hand); Compilers' sync dies after her
    intent, before its call."""
    from integrations.github.client import GitHubClient
    from provisioning.context import github_client

    platforms.add_servers(2)
    networks = provision(name="Networks")
    compilers = provision(name="Compilers")
    if whose == "another course's":
        CourseMember.objects.create(course=networks, name="Ada", email="ada@uni.example")
        _sync(on_commit, networks)
    else:
        github_client().invite_to_org(email="ada@uni.example")
    [theirs] = _people(platforms)["invitations"]
    ada = CourseMember.objects.create(course=compilers, name="Ada", email="ada@uni.example")
    invite = GitHubClient.invite_to_org

    def die_before_the_call(self, **kwargs):
        raise SimulatedCrash("before the invitation's call")

    monkeypatch.setattr(GitHubClient, "invite_to_org", die_before_the_call)
    with pytest.raises(SimulatedCrash):
        _sync(on_commit, compilers)
    monkeypatch.setattr(GitHubClient, "invite_to_org", invite)
    assert ExternalResource.objects.filter(member=ada, state="intended").exists()
    return compilers, ada, theirs


NOT_OURS = ["another course's", "sent by hand"]


@pytest.mark.parametrize("whose", NOT_OURS)
def test_a_recovered_email_intent_does_not_take_an_invitation_without_its_team(
    platforms, provision, on_commit, settings, monkeypatch, whose
):
    """GitHub holds one invitation per email in the organization: the one the retry finds for
    the email is ours only if it carries our team. Another's is not taken for ours (the course
    would believe Ada invited to its team): the POST meets GitHub's "already invited" and Ada
    fails asking for her username, as without the crash; the other invitation stays as it was."""
    compilers, ada, theirs = _email_intent_beside_an_invitation_not_ours(
        platforms, provision, on_commit, monkeypatch, whose
    )
    seen = len(platforms.requests())
    settings.PROVISIONING_LEASE_SECONDS = 0
    assert runner.run_course(compilers.id).outcome == "COMPLETED"

    calls = platforms.requests()[seen:]
    teams_read = [c for c in calls if c["route"] == INVITATION_TEAMS]
    assert len(teams_read) == (0 if whose == "sent by hand" else 1)  # no team on it: no read
    posts = [(c["method"], c["route"], c["status"]) for c in calls if c["method"] != "GET"]
    assert posts == [("POST", INVITATION_POST[2], 422)]
    ada.refresh_from_db()
    assert ada.github_state == State.FAILED
    assert "already have a pending invitation to test-university" in ada.github_detail
    assert "give their GitHub username" in ada.github_detail
    record = ExternalResource.objects.get(member=ada, kind="membership")
    assert (record.state, record.external_id) == ("confirmed", "")
    assert (record.data["state"], record.data["invites"]) == ("refused", False)
    assert _people(platforms)["invitations"] == [theirs]


@pytest.mark.parametrize("whose", NOT_OURS)
def test_removing_a_member_with_an_email_intent_leaves_an_invitation_without_its_team(
    platforms, provision, on_commit, settings, monkeypatch, whose
):
    """Ada leaves the Compilers roster before the retry: her intent's invitation may have gone,
    so the retry looks for it, but one not carrying our team is not ours to cancel."""
    compilers, ada, theirs = _email_intent_beside_an_invitation_not_ours(
        platforms, provision, on_commit, monkeypatch, whose
    )
    CourseMember.objects.filter(id=ada.id).update(removed_at=timezone.now())
    seen = len(platforms.requests())
    settings.PROVISIONING_LEASE_SECONDS = 0
    assert runner.run_course(compilers.id).outcome == "COMPLETED"

    assert _writes(platforms.requests()[seen:]) == {}
    assert _people(platforms)["invitations"] == [theirs]
    ada.refresh_from_db()
    assert ada.github_state == State.REMOVED


def test_removing_an_email_invitee_who_accepted_since_the_last_sync_says_to_do_it_by_hand(
    platforms, provision, on_commit
):
    """Their invitation is gone (accepted), and without their username the sync cannot take
    them out of the team: the roster must not claim they are simply removed."""
    platforms.add_servers(1)
    course = provision(name="Compilers")
    bob = CourseMember.objects.create(course=course, name="Bob", email="bob@uni.example")
    _sync(on_commit, course)
    invitation = ExternalResource.objects.get(member=bob, kind="membership")
    platforms.control.accept_github_invitation(
        ORG, invitation_id=int(invitation.external_id), login="bobby"
    )
    CourseMember.objects.filter(id=bob.id).update(removed_at=timezone.now())
    seen = len(platforms.requests())

    _sync(on_commit, course)

    assert _writes(platforms.requests()[seen:]) == {INVITATION_DELETE: 1}  # the one try
    bob.refresh_from_db()
    assert bob.github_state == State.REMOVED
    assert "accepted" in bob.github_detail and "by hand" in bob.github_detail
    assert "2026-fall-compilers-students" in bob.github_detail


def test_an_invitation_accepted_before_its_lost_answer_was_recorded_still_counts(
    platforms, provision, on_commit, settings, monkeypatch
):
    """The run died after the team membership invited Ada; she accepted before the next run,
    which finds her active: her invitation was still spent in the window."""
    from provisioning.invitations import invitations_counted

    platforms.add_servers(1)
    course = provision(name="Compilers")
    CourseMember.objects.create(course=course, name="Ada", github_username="ada")
    confirm = resources._confirm

    def crash_on_the_membership(resource, found):
        if resource.kind == "membership":
            raise SimulatedCrash(resource.key)
        confirm(resource, found)

    monkeypatch.setattr(resources, "_confirm", crash_on_the_membership)
    with pytest.raises(SimulatedCrash):
        _sync(on_commit, course)
    monkeypatch.setattr(resources, "_confirm", confirm)
    platforms.control.accept_github_invitation(ORG, login="ada")
    settings.PROVISIONING_LEASE_SECONDS = 0
    assert runner.run_course(course.id).outcome == "COMPLETED"

    assert _writes(platforms.requests())[MEMBERSHIP_PUT] == 1
    assert CourseMember.objects.get(course=course).github_state == State.ACTIVE
    assert invitations_counted(org=ORG) == 1


def test_removing_someone_whose_invitation_expired_sends_no_cancel(platforms, provision, on_commit):
    platforms.add_servers(1)
    course = provision(name="Compilers")
    bob = CourseMember.objects.create(course=course, name="Bob", email="bob@uni.example")
    _sync(on_commit, course)
    platforms.control.advance_github_clock(8 * DAY)  # GitHub drops it after 7 days
    ExternalResource.objects.filter(member=bob).update(
        created_at=timezone.now() - timedelta(days=8)
    )
    _sync(on_commit, course)
    bob.refresh_from_db()
    assert bob.github_state == State.FAILED and "no longer pending" in bob.github_detail
    CourseMember.objects.filter(id=bob.id).update(removed_at=timezone.now())
    seen = len(platforms.requests())

    _sync(on_commit, course)

    assert _writes(platforms.requests()[seen:]) == {}  # nothing left to cancel
    bob.refresh_from_db()
    assert bob.github_state == State.REMOVED


def test_an_expired_invitation_is_not_read_back_as_pending_from_another_one_for_its_email(
    platforms, provision, on_commit
):
    """GitHub holds one invitation per email: after ours expired, another course invited the
    same address with its own team. The read back matches the invitation id we recorded, not
    the email: ours is no longer pending and Bob is told so, instead of showing pending forever
    (and theirs is neither cancelled nor taken for ours)."""
    platforms.add_servers(2)
    course = provision(name="Compilers")
    networks = provision(name="Networks")
    bob = CourseMember.objects.create(course=course, name="Bob", email="bob@uni.example")
    _sync(on_commit, course)
    ours = ExternalResource.objects.get(member=bob, kind="membership")
    platforms.control.advance_github_clock(8 * DAY)  # GitHub drops it after 7 days
    ExternalResource.objects.filter(id=ours.id).update(
        created_at=timezone.now() - timedelta(days=8)
    )
    CourseMember.objects.create(course=networks, name="Bob", email="bob@uni.example")
    _sync(on_commit, networks)
    their_team = ExternalResource.objects.get(
        course=networks, kind="team", key__endswith="students"
    )
    [theirs] = _people(platforms)["invitations"]
    assert (theirs["email"], theirs["team_ids"]) == ("bob@uni.example", [their_team.data["id"]])
    assert str(theirs["id"]) != ours.external_id
    seen = len(platforms.requests())

    _sync(on_commit, course)

    assert _writes(platforms.requests()[seen:]) == {}
    ours.refresh_from_db()
    assert ours.data["state"] == "gone"  # past 7 days: accepted or expired, we cannot tell
    bob.refresh_from_db()
    assert bob.github_state == State.FAILED and "no longer pending" in bob.github_detail
    assert _people(platforms)["invitations"] == [theirs]


# -- a team deleted by hand, or another made under its name ---------------------------------------
TEAM_NOT_OURS = {
    "made again by someone else": "is not this course's any more",
    "deleted": "is gone: it was deleted by hand",
}


def _students_team_lost(course: Course, what: str) -> tuple[str, Any]:
    """The lecture's students team deleted by hand, and another made under its name or not:
    its slug, and the other team (None when deleted only)."""
    from provisioning.context import github_client

    team = ExternalResource.objects.get(course=course, kind="team", key__endswith="students")
    github = github_client()
    assert github.delete_team_if_present(team.data["slug"])
    theirs = None
    if what == "made again by someone else":
        theirs = github.ensure_team(team.data["name"], description="Someone else's")
    return team.data["slug"], theirs


@pytest.mark.parametrize("what", list(TEAM_NOT_OURS))
def test_nobody_is_seated_on_a_team_no_longer_ours_and_staff_are_told(
    platforms, provision, on_commit, what
):
    """The sync addresses a team by its slug, which a team made under the same name takes over.
    Read once before its first seat, it is found not ours (or gone): nobody is added to it or
    invited with it, nobody is taken off it, its members say why and what to do, and so does the
    operation; the step completes, so the course can be verified and repaired, after which the
    sync seats them."""
    from provisioning.context import github_client
    from provisioning.repair import course_repair
    from provisioning.verify import course_verify

    platforms.add_servers(1)
    course = provision(name="Compilers")
    ada = CourseMember.objects.create(course=course, name="Ada", github_username="ada")
    dan = CourseMember.objects.create(course=course, name="Dan", github_username="dan")
    _sync(on_commit, course)
    slug, theirs = _students_team_lost(course, what)
    CourseMember.objects.filter(id=dan.id).update(removed_at=timezone.now())
    bob = CourseMember.objects.create(course=course, name="Bob", github_username="bob")
    cyd = CourseMember.objects.create(course=course, name="Cyd", email="cyd@uni.example")
    seen = len(platforms.requests())

    operation = _sync(on_commit, course)

    assert operation.status == "COMPLETED" and course.status == Course.Status.COMPLETED
    calls = platforms.requests()[seen:]
    assert _writes(calls) == {}
    # Ada's and Dan's invitations went with our team; the team is read once, before Dan's
    # removal (the first call for it), and neither that DELETE nor any seat is sent.
    assert [c["route"] for c in calls if c["provider"] == "github"] == [
        "/orgs/{org}/invitations",
        TEAM_READ,
    ]
    people = _people(platforms)
    if theirs is not None:
        assert people["teams"][slug] == {
            "id": theirs.id,
            "name": theirs.name,
            "repos": {},
            "memberships": {},
        }
    assert people["invitations"] == []
    for member in (ada, bob, cyd, dan):
        member.refresh_from_db()
        assert member.github_state == State.FAILED
        assert TEAM_NOT_OURS[what] in member.github_detail
        assert "verify and repair the course" in member.github_detail
    assert not ExternalResource.objects.filter(member__in=[bob, cyd]).exists()  # no intent
    assert list(operation.params["teamProblems"]) == [slug]
    assert operation.params["detail"].startswith(f"GitHub team {slug} of {ORG}")

    # Staff do as told: the other team out of the way, verify, repair; the sync seats them.
    if theirs is not None:
        assert github_client().delete_team_if_present(slug)
    with on_commit():
        course_verify(course=course)
    with on_commit():
        repair = course_repair(course=course)
    repair.refresh_from_db()
    assert repair.status == Operation.Status.COMPLETED
    _sync(on_commit, course)
    team = _people(platforms)["teams"][slug]
    assert theirs is None or team["id"] != theirs.id
    assert sorted(team["memberships"]) == ["ada", "bob"]
    [invitation] = [i for i in _people(platforms)["invitations"] if i["email"]]
    assert (invitation["email"], invitation["team_ids"]) == ("cyd@uni.example", [team["id"]])
    states = CourseMember.objects.filter(course=course).values_list("name", "github_state")
    assert dict(states) == {
        "Ada": State.PENDING,
        "Bob": State.PENDING,
        "Cyd": State.PENDING,
        "Dan": State.REMOVED,
    }


def test_no_repository_is_granted_to_a_team_no_longer_ours(
    platforms, provision, on_commit, settings
):
    """A grant to send (here the students' permission changed) on a team made again by someone
    else under our team's name: nothing is granted to it, the operation says why."""
    platforms.add_servers(1)
    course = provision(name="Compilers")
    _sync(on_commit, course)
    slug, theirs = _students_team_lost(course, "made again by someone else")
    settings.LECTURE_STUDENT_PERMISSION = "triage"
    seen = len(platforms.requests())

    operation = _sync(on_commit, course)

    assert operation.status == "COMPLETED"
    calls = platforms.requests()[seen:]
    assert _writes(calls) == {}
    assert [c["route"] for c in calls if c["provider"] == "github"] == [TEAM_READ]
    their_team = _people(platforms)["teams"][slug]
    assert (their_team["id"], their_team["repos"]) == (theirs.id, {})
    [problem] = operation.params["teamProblems"].values()
    assert f"GitHub team {slug} of {ORG} is not this course's any more" in problem
    assert "rename or delete that team on GitHub" in problem
    assert operation.params["detail"].startswith(problem)
    grant = ExternalResource.objects.get(course=course, kind="team_grant", key__startswith=slug)
    assert (grant.state, grant.data["permission"]) == ("confirmed", "pull")  # left as it was


# -- a team deleted by hand between its read and a call for it ---------------------------------
def _deleted_after_its_read(monkeypatch, slug: str) -> None:
    """The sync reads the team still ours (``team_not_ours``); staff delete it by hand at once,
    before the sync's next call for it."""
    from integrations.github.client import GitHubClient
    from provisioning.context import github_client

    read = GitHubClient.get_team
    deleted: list[str] = []

    def read_then_deleted(client: GitHubClient, wanted: str) -> Any:
        found = read(client, wanted)
        if wanted == slug and found is not None and not deleted:
            deleted.append(wanted)
            assert github_client().delete_team_if_present(wanted)
        return found

    monkeypatch.setattr(GitHubClient, "get_team", read_then_deleted)


TEAM_DELETE = ("github", "DELETE", "/orgs/{org}/teams/{team_slug}")
# The first seat's call, and how GitHub (the sandbox) refuses it for a team gone.
FIRST_SEAT = {
    "username": (MEMBERSHIP_PUT, 404),
    "email": (INVITATION_POST, 422),  # "team_ids" invalid
}


@pytest.mark.parametrize("first", list(FIRST_SEAT))
def test_a_team_deleted_after_its_read_fails_its_seats_not_the_step(
    platforms, provision, on_commit, monkeypatch, first
):
    """Deleted by hand after the sync read it still ours: the first seat's call is refused, the
    team is read again and found gone, and it takes the path of a team found gone before any
    call — nothing more is sent to it, every member of it (one seated earlier too) says what
    staff must do, so does the operation, and the step completes, so that the course can be
    verified and repaired; the sync then seats them."""
    from provisioning.repair import course_repair
    from provisioning.verify import course_verify

    platforms.add_servers(1)
    course = provision(name="Compilers")
    dan = CourseMember.objects.create(course=course, name="Dan", github_username="dan")
    _sync(on_commit, course)
    identity = {"github_username": "ada"} if first == "username" else {"email": "ada@uni.example"}
    ada = CourseMember.objects.create(course=course, name="Ada", **identity)
    bob = CourseMember.objects.create(course=course, name="Bob", github_username="bob")
    cyd = CourseMember.objects.create(course=course, name="Cyd", email="cyd@uni.example")
    slug = ExternalResource.objects.get(course=course, kind="team", key__endswith="students").key
    _deleted_after_its_read(monkeypatch, slug)
    seen = len(platforms.requests())

    operation = _sync(on_commit, course)

    assert operation.status == "COMPLETED" and course.status == Course.Status.COMPLETED
    calls = [c for c in platforms.requests()[seen:] if c["provider"] == "github"]
    call, status = FIRST_SEAT[first]
    assert _writes(calls) == {TEAM_DELETE: 1, call: 1}  # Ada's only; Bob's and Cyd's not sent
    assert [c["status"] for c in calls if c["method"] == call[1]] == [status]
    # read before Ada's call (ours), and once more on its refusal (gone)
    reads = [c["status"] for c in calls if (c["method"], c["route"]) == ("GET", TEAM_READ)]
    assert reads == [200, 404]
    for member in (dan, ada, bob, cyd):
        member.refresh_from_db()
        assert member.github_state == State.FAILED, member.name
        assert "is gone: it was deleted by hand" in member.github_detail
        assert "verify and repair the course" in member.github_detail
    # nothing was sent: no intent kept, no refusal recorded (which a re-sync would not ask again)
    assert not ExternalResource.objects.filter(member__in=[ada, bob, cyd]).exists()
    assert list(operation.params["teamProblems"]) == [slug]
    assert operation.params["detail"].startswith(f"GitHub team {slug} of {ORG} is gone")
    assert operation.params["github"]["failed"] == 3

    monkeypatch.undo()
    with on_commit():
        course_verify(course=course)
    with on_commit():
        repair = course_repair(course=course)
    repair.refresh_from_db()
    assert repair.status == Operation.Status.COMPLETED
    _sync(on_commit, course)
    states = CourseMember.objects.filter(course=course).values_list("name", "github_state")
    assert set(dict(states).values()) == {State.PENDING}


def test_a_team_deleted_after_its_read_before_a_role_change_fails_the_seat_not_the_step(
    platforms, provision, on_commit, monkeypatch
):
    """A TA made instructor: one PUT of the new role, refused (404) by the staff team deleted
    since the sync read it: the team is read again, gone, the seat says so, the step completes."""
    platforms.add_servers(1)
    course = provision(name="Compilers")
    tom = CourseMember.objects.create(
        course=course, role=Role.TA, name="Tom", github_username="tom-ta"
    )
    _sync(on_commit, course)
    CourseMember.objects.filter(id=tom.id).update(role=Role.INSTRUCTOR)
    slug = ExternalResource.objects.get(course=course, kind="team", key__endswith="staff").key
    _deleted_after_its_read(monkeypatch, slug)
    seen = len(platforms.requests())

    operation = _sync(on_commit, course)

    assert operation.status == "COMPLETED" and course.status == Course.Status.COMPLETED
    calls = platforms.requests()[seen:]
    assert [
        c["status"] for c in calls if (c["provider"], c["method"], c["route"]) == MEMBERSHIP_PUT
    ] == [404]
    tom.refresh_from_db()
    assert tom.github_state == State.FAILED and "is gone" in tom.github_detail
    assert list(operation.params["teamProblems"]) == [slug]


GRANT_PUT = ("github", "PUT", "/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}")


def _grants_forgotten(course: Course, slug: str) -> list[str]:
    """The team's grants unrecorded (as if never given): the next sync gives each (one PUT).
    Their repositories' names."""
    grants = ExternalResource.objects.filter(course=course, kind="team_grant", data__team=slug)
    repos = sorted(grant.data["repo"] for grant in grants)
    grants.delete()
    return repos


def test_a_team_deleted_after_its_read_gets_no_more_grants_and_the_step_completes(
    platforms, provision, on_commit, monkeypatch
):
    """A lab's staff team, two grants to give: deleted by hand after the sync read it still
    ours, its first grant is refused (404), the team is read again and found gone, and it takes
    the path of a team found gone before its first grant — its second grant is not sent, its
    grants are left as they were, the operation and its members say what staff must do, and
    the step completes (a failed one left the course FAILED, where verify and repair are
    refused); verify and repair then make it again with both grants."""
    from provisioning.repair import course_repair
    from provisioning.verify import course_verify

    course = _lab(platforms, provision, groups=2)
    ines = CourseMember.objects.create(
        course=course, role=Role.INSTRUCTOR, name="Ines", github_username="ines-prof"
    )
    _sync(on_commit, course)
    slug = ExternalResource.objects.get(course=course, kind="team", key__endswith="staff").key
    repos = _grants_forgotten(course, slug)
    tom = CourseMember.objects.create(
        course=course, role=Role.TA, name="Tom", github_username="tom-ta"
    )
    _deleted_after_its_read(monkeypatch, slug)
    seen = len(platforms.requests())

    operation = _sync(on_commit, course)

    assert operation.status == "COMPLETED" and course.status == Course.Status.COMPLETED
    calls = [c for c in platforms.requests()[seen:] if c["provider"] == "github"]
    assert _writes(calls) == {TEAM_DELETE: 1, GRANT_PUT: 1}  # the second grant is not sent
    assert [c["status"] for c in calls if c["method"] == "PUT"] == [404]
    # read before its first grant (ours), again on its refusal (gone), and by the seats' step
    # before Tom's seat (gone: nothing sent)
    reads = [c["status"] for c in calls if (c["method"], c["route"]) == ("GET", TEAM_READ)]
    assert reads == [200, 404, 404]
    # left as they were: unrecorded (the refused one's intent goes back)
    assert not ExternalResource.objects.filter(course=course, key__startswith=f"{slug}:")
    assert list(operation.params["teamProblems"]) == [slug]
    assert operation.params["detail"].startswith(f"GitHub team {slug} of {ORG} is gone")
    for member in (ines, tom):
        member.refresh_from_db()
        assert member.github_state == State.FAILED, member.name
        assert "verify and repair the course" in member.github_detail

    monkeypatch.undo()
    with on_commit():
        course_verify(course=course)
    with on_commit():
        repair = course_repair(course=course)
    repair.refresh_from_db()
    assert repair.status == Operation.Status.COMPLETED
    _sync(on_commit, course)
    repo_ids = ExternalResource.objects.filter(course=course, kind="repository", key__in=repos)
    team = _people(platforms)["teams"][slug]
    assert team["repos"] == {str(r.external_id): "maintain" for r in repo_ids}
    assert sorted(team["memberships"]) == ["ines-prof", "tom-ta"]


def test_a_team_deleted_after_its_read_leaves_a_changed_grant_as_it_was(
    platforms, provision, on_commit, monkeypatch, settings
):
    """The students' permission changed: its grant's PUT refused by the team deleted since the
    sync read it, the grant's record is left as it was (the old permission, confirmed), as when
    the team is found gone before the PUT; the step completes."""
    platforms.add_servers(1)
    course = provision(name="Compilers")
    _sync(on_commit, course)
    slug = ExternalResource.objects.get(course=course, kind="team", key__endswith="students").key
    settings.LECTURE_STUDENT_PERMISSION = "triage"
    _deleted_after_its_read(monkeypatch, slug)

    operation = _sync(on_commit, course)

    assert operation.status == "COMPLETED" and course.status == Course.Status.COMPLETED
    assert list(operation.params["teamProblems"]) == [slug]
    grant = ExternalResource.objects.get(course=course, kind="team_grant", key__startswith=slug)
    assert (grant.state, grant.data["permission"]) == ("confirmed", "pull")


def test_a_repository_deleted_by_hand_gets_no_grant_and_the_step_completes(
    platforms, provision, on_commit
):
    """A grant to a repository deleted by hand, its team still ours: GitHub answers 404, the
    team is read (ours) and then the repository (gone). Failing the step would leave the course
    FAILED, where verify and repair — which make the repository again — are refused, and a
    retry meets the same 404: the grant is left unsent, the operation says what to do, the
    team's other grant still goes, and verify and repair then give it (no sync needed)."""
    from provisioning.context import github_client
    from provisioning.repair import course_repair
    from provisioning.verify import course_verify

    course = _lab(platforms, provision, groups=2)
    _sync(on_commit, course)
    slug = ExternalResource.objects.get(course=course, kind="team", key__endswith="staff").key
    gone, kept = _grants_forgotten(course, slug)
    assert github_client().delete_repo_if_present(gone)
    seen = len(platforms.requests())

    operation = _sync(on_commit, course)

    assert operation.status == "COMPLETED" and course.status == Course.Status.COMPLETED
    calls = [c for c in platforms.requests()[seen:] if c["provider"] == "github"]
    puts = [(c["path"].rsplit("/", 1)[-1], c["status"]) for c in calls if c["method"] == "PUT"]
    assert puts == [
        (gone, 404),
        (kept, 204),
    ]
    assert [c["status"] for c in calls if c["route"] == "/repos/{owner}/{repo}"] == [404]
    assert operation.params["teamProblems"] == {
        f"{slug}:{gone}": (
            f"GitHub repository {ORG}/{gone} is gone: it was deleted by hand. Team {slug} was "
            "not given maintain on it: verify and repair the course (the repository is made "
            "again, with its teams' access)."
        )
    }
    assert operation.params["detail"].startswith(f"GitHub repository {ORG}/{gone} is gone")
    grants = ExternalResource.objects.filter(course=course, key__startswith=f"{slug}:")
    assert [(g.key, g.state) for g in grants] == [(f"{slug}:{kept}", "confirmed")]

    with on_commit():
        course_verify(course=course)
    with on_commit():
        repair = course_repair(course=course)
    repair.refresh_from_db()
    assert repair.status == Operation.Status.COMPLETED
    repos = ExternalResource.objects.filter(course=course, kind="repository")
    team = _people(platforms)["teams"][slug]
    # (the sandbox keeps the deleted repository's id in the team's grants: left out here)
    assert {str(r.external_id): team["repos"].get(str(r.external_id)) for r in repos} == {
        str(r.external_id): "maintain" for r in repos
    }


def test_a_grant_refused_404_with_its_team_and_repository_there_fails_the_step(
    platforms, provision, on_commit, monkeypatch, settings
):
    """Team ours, repository there: the 404 is about the token or the organization — the step
    fails with GitHub's answer, as before, and no team or repository is said to be gone."""
    from integrations.errors import NotFoundError
    from integrations.github.client import GitHubClient

    def not_found(client: GitHubClient, slug: str, repo: str, **kwargs: Any) -> Any:
        raise NotFoundError(
            f"GitHub: grant to team {slug} answered 404: Not Found", provider="github", status=404
        )

    platforms.add_servers(1)
    course = provision(name="Compilers")
    _sync(on_commit, course)
    settings.LECTURE_STUDENT_PERMISSION = "triage"
    monkeypatch.setattr(GitHubClient, "grant_team_repo", not_found)

    operation = _sync(on_commit, course)

    assert operation.status == "FAILED"
    errors = " ".join(e for e in course.steps.values_list("last_error", flat=True) if e)
    assert "answered 404: Not Found" in errors and "is gone" not in errors
    assert "teamProblems" not in operation.params


def test_an_invitation_refused_404_with_its_team_still_ours_fails_the_step(
    platforms, provision, on_commit, monkeypatch
):
    """An email is no GitHub user: a 404 on its invitation, the team read still ours, is the
    organization's or the token's problem — the step fails with GitHub's answer, and no team is
    said to be gone."""
    from integrations.errors import NotFoundError
    from integrations.github.client import GitHubClient

    def not_found(client: GitHubClient, **kwargs: Any) -> Any:
        raise NotFoundError(
            f"GitHub: invite to {client.org} answered 404: Not Found", provider="github", status=404
        )

    platforms.add_servers(1)
    course = provision(name="Compilers")
    CourseMember.objects.create(course=course, name="Cyd", email="cyd@uni.example")
    monkeypatch.setattr(GitHubClient, "invite_to_org", not_found)

    operation = _sync(on_commit, course)

    assert operation.status == "FAILED"
    errors = " ".join(e for e in course.steps.values_list("last_error", flat=True) if e)
    assert "answered 404: Not Found" in errors and "is gone" not in errors
    assert "teamProblems" not in operation.params


def test_a_roster_changed_while_the_course_was_busy_is_synced_by_the_sweep_once(
    platforms, provision, on_commit
):
    """The import saves a roster it cannot sync now (the course runs another operation) and says
    the sync is pending; the sweep starts it once the course is idle, and only once."""
    course = _lab(platforms, provision, groups=2)
    _sync(on_commit, course)  # the roster's first sync (nobody yet)
    with on_commit():
        assert roster_syncs_due() == []  # nothing changed since

    _students(course, 4)  # written while the course was busy: no sync started
    with on_commit():
        assert roster_syncs_due() == [course.id]
    course.refresh_from_db()
    assert course.status == Course.Status.COMPLETED
    assert not CourseMember.objects.filter(
        course=course, github_state=CourseMember.GitHubState.NOT_SYNCED
    ).exists()
    with on_commit():
        assert roster_syncs_due() == []

    # A member a completed sync left unsynced is not a change: no sync started again and again.
    stuck = CourseMember.objects.filter(course=course).first()
    assert stuck is not None
    CourseMember.objects.filter(id=stuck.id).update(
        github_state=CourseMember.GitHubState.NOT_SYNCED,
        updated_at=timezone.now() - timedelta(hours=1),
    )
    with on_commit():
        assert roster_syncs_due() == []

    # Taken off the roster while busy: the sweep carries the removal.
    CourseMember.objects.filter(id=stuck.id).update(
        github_state=CourseMember.GitHubState.PENDING, removed_at=timezone.now()
    )
    with on_commit():
        assert roster_syncs_due() == [course.id]
    stuck.refresh_from_db()
    assert stuck.github_state == CourseMember.GitHubState.REMOVED


# -- over budget, members already in the organization take no slot --------------------------------
ORG_MEMBER_READ = ("GET", "/orgs/{org}/members/{username}")


def _github_calls(calls: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((c["method"], c["route"]) for c in calls if c["provider"] == "github")


def _full_window(platforms, provision, on_commit, settings, budget: int) -> Course:
    """A lecture whose organization spent its whole budget on email invitations."""
    from provisioning.invitations import invitations_counted

    settings.GITHUB_INVITATION_BUDGET = budget
    platforms.add_servers(1)
    course = provision(name="Compilers")
    for number in range(budget):
        CourseMember.objects.create(course=course, name=f"E{number}", email=f"e{number}@uni.ex")
    _sync(on_commit, course)
    assert invitations_counted(org=ORG) == budget
    return course


def test_over_budget_members_already_in_the_organization_are_seated_at_once(
    platforms, provision, on_commit, settings
):
    """Semester start: the window is full. Students the university kept in the organization
    join their team now (one read each says so, the PUT answers active, no slot taken); the
    others, and an email-only one, wait for the window as before."""
    from provisioning.invitations import invitations_counted

    course = _full_window(platforms, provision, on_commit, settings, budget=2)
    for login in ("ada", "bob", "cyd"):
        platforms.control.add_github_member(ORG, login)
    in_org = [
        CourseMember.objects.create(course=course, name=login, github_username=login)
        for login in ("ada", "bob", "cyd")
    ]
    outside = [
        CourseMember.objects.create(course=course, name=login, github_username=login)
        for login in ("dan", "eve")
    ]
    by_email = CourseMember.objects.create(course=course, name="Fay", email="fay@uni.example")
    seen = len(platforms.requests())

    operation = _sync(on_commit, course)

    assert operation.status == "COMPLETED"
    calls = platforms.requests()[seen:]
    assert _writes(calls) == {MEMBERSHIP_PUT: 3}
    # one membership read per over-budget username, none for the email, nothing else per member
    assert _github_calls(calls) == {
        ("GET", "/orgs/{org}/invitations"): 1,  # the two pending invitations read back
        ("GET", TEAM_READ): 1,  # still ours, before its first seat
        ORG_MEMBER_READ: 5,
        ("PUT", MEMBERSHIP_PUT[2]): 3,
    }
    reads = sorted(c["path"].rsplit("/", 1)[1] for c in calls if c["route"] == ORG_MEMBER_READ[1])
    assert reads == ["ada", "bob", "cyd", "dan", "eve"]
    assert invitations_counted(org=ORG) == 2  # the ledger did not move
    people = _people(platforms)
    assert people["invitations_sent"] == 2 and len(people["invitations"]) == 2
    team = people["teams"]["2026-fall-compilers-students"]["memberships"]
    assert {login: team[login] for login in ("ada", "bob", "cyd")} == dict.fromkeys(
        ("ada", "bob", "cyd"), "active"
    )
    assert "dan" not in team and "eve" not in team
    for member in in_org:
        member.refresh_from_db()
        assert (member.github_state, member.waiting_until) == (State.ACTIVE, None)
        seat = ExternalResource.objects.get(member=member, kind="membership")
        assert (seat.state, seat.data["state"], seat.data["invites"]) == (
            "confirmed",
            "active",
            False,
        )
    for member in [*outside, by_email]:
        member.refresh_from_db()
        assert member.github_state == State.WAITING and member.waiting_until is not None
        assert not ExternalResource.objects.filter(member=member).exists()
    assert operation.params["github"]["waiting"] == 3

    # A re-sync writes nothing: the seated are done (no call for them); the waiting are read
    # once more (a new attempt), still outside, still waiting.
    seen = len(platforms.requests())
    _sync(on_commit, course)
    calls = platforms.requests()[seen:]
    assert _writes(calls) == {}
    assert _github_calls(calls) == {("GET", "/orgs/{org}/invitations"): 1, ORG_MEMBER_READ: 2}
    assert not any(c["path"].endswith(("/ada", "/bob", "/cyd")) for c in calls)
    assert invitations_counted(org=ORG) == 2


CRASHES_OF_AN_ORG_MEMBER = [
    # crash before the PUT: the retry finds no membership, reads the organization again (the
    # window is still full) and sends the one PUT
    ("before the PUT", [("GET", 204)], [("GET", 404), ("GET", 204), ("PUT", 200)]),
    # crash after the PUT, before its record: the retry finds the membership active, no PUT
    ("after the PUT", [("GET", 204), ("PUT", 200)], [("GET", 200)]),
]


@pytest.mark.parametrize(
    ("when", "first", "retry"),
    CRASHES_OF_AN_ORG_MEMBER,
    ids=[c[0] for c in CRASHES_OF_AN_ORG_MEMBER],
)
def test_a_crash_around_an_org_members_uncounted_seat_sends_exactly_one_put(
    platforms, provision, on_commit, settings, monkeypatch, when, first, retry
):
    from integrations.github.client import GitHubClient
    from provisioning.invitations import invitations_counted

    course = _full_window(platforms, provision, on_commit, settings, budget=1)
    platforms.control.add_github_member(ORG, "ada")
    ada = CourseMember.objects.create(course=course, name="Ada", github_username="ada")
    put, confirm = GitHubClient.set_team_membership, resources._confirm

    def die_before_the_put(self, *args, **kwargs):
        raise SimulatedCrash("before the PUT")

    def die_before_the_record(resource, found):
        if resource.member_id == ada.id:
            raise SimulatedCrash("after the PUT")
        confirm(resource, found)

    if when == "before the PUT":
        monkeypatch.setattr(GitHubClient, "set_team_membership", die_before_the_put)
    else:
        monkeypatch.setattr(resources, "_confirm", die_before_the_record)
    seen = len(platforms.requests())
    with pytest.raises(SimulatedCrash):
        _sync(on_commit, course)
    monkeypatch.setattr(GitHubClient, "set_team_membership", put)
    monkeypatch.setattr(resources, "_confirm", confirm)
    intent = ExternalResource.objects.get(member=ada, state="intended")
    assert intent.data["invites"] is False  # written uncounted, before any call for it
    assert invitations_counted(org=ORG) == 1
    middle = len(platforms.requests())

    settings.PROVISIONING_LEASE_SECONDS = 0
    assert runner.run_course(course.id).outcome == "COMPLETED"

    def for_ada(calls):
        return [(c["method"], c["status"]) for c in calls if c["path"].endswith("/ada")]

    assert for_ada(platforms.requests()[seen:middle]) == first
    assert for_ada(platforms.requests()[middle:]) == retry
    assert _writes(platforms.requests()[seen:]) == {MEMBERSHIP_PUT: 1}
    seat = ExternalResource.objects.get(member=ada, kind="membership")
    assert (seat.state, seat.data["state"], seat.data["invites"]) == ("confirmed", "active", False)
    ada.refresh_from_db()
    assert ada.github_state == State.ACTIVE
    assert invitations_counted(org=ORG) == 1
    assert _people(platforms)["invitations_sent"] == 1


def test_an_org_member_who_left_before_the_put_is_invited_and_counted_one_over(
    platforms, provision, on_commit, settings, monkeypatch
):
    """The rare race: the read said member, they left before the PUT, GitHub invited them. The
    invitation is recorded as counted (from its intent) and the window holds budget + 1."""
    from integrations.github.client import GitHubClient
    from provisioning.invitations import invitations_counted

    course = _full_window(platforms, provision, on_commit, settings, budget=1)
    monkeypatch.setattr(GitHubClient, "is_org_member", lambda self, username: True)
    gone = CourseMember.objects.create(course=course, name="Gus", github_username="gus")

    _sync(on_commit, course)

    seat = ExternalResource.objects.get(member=gone, kind="membership")
    assert (seat.data["state"], seat.data["invites"]) == ("pending", True)
    assert invitations_counted(org=ORG) == 2
    assert _people(platforms)["invitations_sent"] == 2
    gone.refresh_from_db()
    assert gone.github_state == State.PENDING
