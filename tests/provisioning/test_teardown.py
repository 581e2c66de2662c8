"""Tear down: exactly what the course made goes, in reverse order; nothing else is touched; the
course stays as a deleted record whose name can be created again."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from courses.models import Course, CourseMember
from provisioning import runner
from provisioning.context import discord_client, github_client
from provisioning.handlers import teardown as handlers
from provisioning.handlers.github import course_marker
from provisioning.invitations import invitations_counted
from provisioning.models import DiscordServer, ExternalResource, Operation
from provisioning.operations import CourseDeletedError, OperationBusyError
from provisioning.people import members_sync
from provisioning.services import NothingToRetryError, provisioning_retry
from provisioning.steps import CHANGE_STEPS
from provisioning.teardown import course_teardown, teardown_plan
from provisioning.verify import course_verify

pytestmark = pytest.mark.django_db

ORG = "test-university"
LECTURE_CHANNELS = {"announcements", "general", "lectures", "qa-help"}


class SimulatedCrash(BaseException):
    """The process dies here."""


@pytest.fixture
def laboratory(platforms, provision) -> Course:
    platforms.add_servers(1)
    course = provision(name="Systems", type="LABORATORY", groups=("Alpha", "Beta"))
    assert course.status == Course.Status.COMPLETED
    return course


def _teardown(course: Course, on_commit) -> Operation:
    with on_commit():
        operation = course_teardown(course=course)
    operation.refresh_from_db()
    course.refresh_from_db()
    return operation


def _guild(platforms, guild_id: str) -> dict[str, Any]:
    return platforms.state()["discord"]["guilds"][guild_id]


def _deleted(calls: list[dict[str, Any]]) -> Counter[str]:
    """Successful DELETE requests per path (one path = one object)."""
    return Counter(c["path"] for c in calls if c["method"] == "DELETE" and c["status"] < 300)


def test_teardown_removes_exactly_what_the_course_made_and_the_name_can_be_made_again(
    platforms, provision, on_commit
):
    [guild_id] = platforms.add_servers(1, default_channels=True)  # Discord's #general template
    course = provision(name="Algorithms")
    assert course.status == Course.Status.COMPLETED
    general = ExternalResource.objects.get(course=course, kind="channel", key="general")
    assert general.data["adopted"] is True
    assert not ExternalResource.objects.filter(course=course, data__adopted=True).exclude(
        id=general.id
    )
    # Strangers in the same server and organization: a person's channel and role, a repository
    # named like the course's.
    discord = discord_client()
    stranger = discord.create_channel(guild_id, name="staff-lounge", type=0)
    moderators = discord.create_role(guild_id, name="Moderators")
    github_client().create_repo("2026-fall-algorithms-2", description="Not a course's")
    [repo] = ExternalResource.objects.filter(course=course, kind="repository")
    plan = teardown_plan(course=course)
    assert plan["discordWrites"] == 3 + 1 and plan["githubWrites"] == 1  # 3 channels, rename
    assert any("general" in change and change.startswith("Leave") for change in plan["changes"])
    seen = len(platforms.control.requests())

    operation = _teardown(course, on_commit)

    assert (operation.kind, operation.status) == ("TEARDOWN", "COMPLETED")
    assert course.deleted_at is not None and course.discord_guild_id == ""
    assert course.status == Course.Status.COMPLETED
    guild = _guild(platforms, guild_id)
    names = {c["name"] for c in guild["channels"]}
    assert names.isdisjoint({"announcements", "lectures", "qa-help"})
    assert {"general", "staff-lounge"} <= names
    assert stranger["id"] in {c["id"] for c in guild["channels"]}
    assert moderators["id"] in {r["id"] for r in guild["roles"]}
    repos = platforms.state()["github"]["repos"]
    assert f"{ORG}/{repo.key}" not in repos and f"{ORG}/2026-fall-algorithms-2" in repos
    # The pool server has its pool name back and is available again.
    assert guild["name"] == "Staff server 0"
    server = DiscordServer.objects.get(guild_id=guild_id)
    assert (server.status, server.course, server.claimed_at) == ("available", None, None)
    # One write per thing made (3 channels, 1 repository, the rename), reads for the repository.
    calls = platforms.control.requests(since=seen)
    writes = [c for c in calls if c["method"] != "GET"]
    assert len(writes) == 5 and sum(_deleted(calls).values()) == 4
    assert {(c["method"], c["path"]) for c in calls if c["method"] == "GET"} == {
        ("GET", f"/repositories/{repo.external_id}")
    }
    # The adopted #general is left, said so in the operation, and still recorded.
    assert "general" in operation.params["outcomes"]["DELETE_DISCORD_CHANNELS"]
    assert list(course.resources.values_list("kind", "key")) == [("channel", "general")]
    assert [s.status for s in operation.steps.all()] == ["COMPLETED"] * 5

    # The name is free: the same course is created again, in the same (only) pool server.
    again = provision(name="Algorithms")
    assert again.status == Course.Status.COMPLETED and again.discord_guild_id == guild_id
    assert {c["name"] for c in _guild(platforms, guild_id)["channels"]} >= LECTURE_CHANNELS
    assert f"{ORG}/{repo.key}" in platforms.state()["github"]["repos"]
    assert Course.objects.filter(name="Algorithms").count() == 2


def test_a_lookalike_that_took_the_recorded_name_survives_and_the_renamed_repository_goes(
    laboratory, platforms, on_commit
):
    repo = ExternalResource.objects.get(course=laboratory, kind="repository", key__endswith="-1")
    platforms.control.rename_repo(f"{ORG}/{repo.key}", "renamed-by-hand")
    lookalike = github_client().create_repo(repo.key, description="Someone else's")

    _teardown(laboratory, on_commit)

    repos = platforms.state()["github"]["repos"]
    assert f"{ORG}/renamed-by-hand" not in repos
    assert repos[f"{ORG}/{repo.key}"]["id"] == lookalike.id
    assert not any(key.startswith(f"{ORG}/2026-fall-systems-group-2") for key in repos)


def test_a_failed_course_is_torn_down_and_a_lookalike_it_failed_on_survives(
    platforms, provision, on_commit
):
    [guild_id] = platforms.add_servers(1)
    # A stranger's repository holds the name: CREATE_GITHUB_REPO fails, channels exist.
    lookalike = github_client().create_repo("2026-fall-compilers", description="Not ours")
    course = provision(name="Compilers")
    assert course.status == Course.Status.FAILED
    provision_op = course.operations.get(kind="PROVISION")

    operation = _teardown(course, on_commit)

    assert operation.status == "COMPLETED" and course.deleted_at is not None
    provision_op.refresh_from_db()
    assert provision_op.status == "FAILED" and provision_op.finished_at is not None
    superseded = provision_op.steps.filter(status="SKIPPED")
    assert {s.name for s in superseded} == {
        "CREATE_GITHUB_REPO",
        "SEED_GITHUB_CONTENT",
        "APPLY_BRANCH_PROTECTION",
    }
    assert {s.last_error for s in superseded} == {"Superseded by tear down"}
    state = platforms.state()
    assert state["github"]["repos"][f"{ORG}/2026-fall-compilers"]["id"] == lookalike.id
    assert {c["name"] for c in state["discord"]["guilds"][guild_id]["channels"]} == set()
    assert "lacks the marker" in operation.params["outcomes"]["REMOVE_GITHUB_REPOS"]
    assert not course.resources.exists()


def test_a_course_that_failed_at_its_first_step_tears_down_with_no_call(
    platforms, provision, on_commit
):
    [guild_id] = platforms.add_servers(1, bot_member=False)
    course = provision(name="Networks")
    assert course.status == Course.Status.FAILED
    seen = len(platforms.control.requests())

    operation = _teardown(course, on_commit)

    assert operation.status == "COMPLETED" and course.deleted_at is not None
    assert platforms.control.requests(since=seen) == []
    server = DiscordServer.objects.get(guild_id=guild_id)
    assert (server.status, server.course) == ("available", None)


def test_an_explicitly_given_server_gets_its_own_name_back_and_stays_out_of_the_pool(
    platforms, provision, on_commit
):
    guild = platforms.control.create_guild(name="Prof. Ada's server")
    course = provision(name="Logic", discord_guild_id=guild["id"])
    assert _guild(platforms, guild["id"])["name"] == "Logic · 2026-fall"
    server = ExternalResource.objects.get(course=course, kind="server")
    assert server.data["original_name"] == "Prof. Ada's server"

    _teardown(course, on_commit)

    assert _guild(platforms, guild["id"])["name"] == "Prof. Ada's server"
    assert not DiscordServer.objects.filter(guild_id=guild["id"]).exists()
    # The server is free for another course.
    assert provision(name="Logic 2", discord_guild_id=guild["id"]).status == "COMPLETED"


def test_with_archive_mode_repositories_are_archived_and_kept(
    laboratory, platforms, on_commit, settings
):
    settings.TEARDOWN_REPOSITORIES = "archive"
    seen = len(platforms.control.requests())

    operation = _teardown(laboratory, on_commit)

    assert operation.params["repositories"] == "archive"
    calls = platforms.control.requests(since=seen)
    assert not [c for c in calls if c["provider"] == "github" and c["method"] == "DELETE"]
    repos = ExternalResource.objects.filter(course=laboratory, kind="repository")
    assert repos.count() == 2 and all(r.data["archived"] for r in repos)
    state = platforms.state()["github"]["repos"]
    assert all(state[f"{ORG}/{r.key}"]["archived"] for r in repos)
    # Their seeds and protections are kept with them; Discord is gone.
    assert set(laboratory.resources.values_list("kind", flat=True)) == {
        "repository",
        "seed",
        "protection",
    }


def test_recorded_teams_are_deleted_with_their_grants_and_memberships(
    laboratory, platforms, on_commit
):
    client = github_client()
    team = client.ensure_team("Systems staff", description=f"Ours {course_marker(laboratory)}")
    client.ensure_team("Other course staff")
    ExternalResource.objects.create(
        course=laboratory,
        provider="github",
        kind="team",
        key="staff",
        external_id=str(team.id),
        state="confirmed",
        data={"slug": team.slug, "name": team.name},
    )
    for kind in ("team_grant", "membership"):
        ExternalResource.objects.create(
            course=laboratory, provider="github", kind=kind, key=f"staff:{kind}", state="confirmed"
        )

    invitation = ExternalResource.objects.create(
        course=laboratory,
        provider="github",
        kind="membership",
        key="member-1:staff",
        state="confirmed",
        data={"org": ORG, "invites": True},
    )

    _teardown(laboratory, on_commit)

    teams = platforms.state()["github"]["orgs"][ORG]["people"]["teams"]
    assert set(teams) == {"other-course-staff"}
    # The invitation stays counted in the organization's 24-hour budget: GitHub still counts it.
    assert list(laboratory.resources.all()) == [invitation]
    assert invitations_counted(org=ORG) == 1
    # Deleting twice is success: a run that crashed after the delete finishes on the retry.
    assert client.delete_team_if_present(team.slug) is False


@pytest.fixture
def synced(laboratory, on_commit, settings) -> Course:
    """The laboratory with its roster synced: a staff team and one per group, with grants."""
    settings.GITHUB_WRITE_BUDGET = "100000/60"
    CourseMember.objects.create(
        course=laboratory,
        role=CourseMember.Role.INSTRUCTOR,
        name="Ines",
        github_username="ines-prof",
    )
    with on_commit():
        members_sync(course=laboratory)
    laboratory.refresh_from_db()
    assert laboratory.status == Course.Status.COMPLETED
    return laboratory


def _teams(course: Course) -> dict[str, ExternalResource]:
    """The course's recorded teams by purpose (staff, group-1, group-2)."""
    rows = ExternalResource.objects.filter(course=course, kind="team")
    return {row.data["purpose"]: row for row in rows}


def _team_path(team: ExternalResource) -> str:
    return f"/orgs/{ORG}/teams/{team.data['slug']}"


def _platform_teams(platforms) -> dict[str, Any]:
    return platforms.state()["github"]["orgs"][ORG]["people"]["teams"]


def _teams_left_on_github(platforms, teams: dict[str, ExternalResource]) -> int:
    slugs = {team.data["slug"] for team in teams.values()}
    return len(slugs & set(_platform_teams(platforms)))


def test_a_team_made_again_by_someone_else_under_our_name_survives_and_is_said_so(
    synced, platforms, on_commit
):
    teams = _teams(synced)
    assert set(teams) == {"staff", "group-1", "group-2"}
    ours = teams["group-1"]
    # By hand on GitHub: our team deleted, then someone makes theirs under the same name.
    client = github_client()
    assert client.delete_team_if_present(ours.data["slug"])
    theirs = client.ensure_team(ours.data["name"], description="Someone else's")
    assert theirs.slug == ours.data["slug"] and str(theirs.id) != ours.external_id
    seen = len(platforms.control.requests())

    operation = _teardown(synced, on_commit)

    assert operation.status == "COMPLETED" and synced.deleted_at is not None
    left = _platform_teams(platforms)
    assert set(left) == {theirs.slug} and left[theirs.slug]["id"] == theirs.id
    calls = platforms.control.requests(since=seen)
    # One read per team, one delete per team of ours: none for the stranger's.
    reads = Counter(c["path"] for c in calls if c["method"] == "GET" and "/teams/" in c["path"])
    assert reads == Counter(_team_path(team) for team in teams.values())
    deleted = Counter({path: n for path, n in _deleted(calls).items() if "/teams/" in path})
    assert deleted == Counter([_team_path(teams["staff"]), _team_path(teams["group-2"])])
    outcome = operation.params["outcomes"]["REMOVE_GITHUB_TEAMS"]
    assert f"team {theirs.slug} (not ours: made again by someone else)" in outcome
    # Our rows are forgotten: our team, its grants and memberships are gone from GitHub.
    assert not synced.resources.filter(kind__in=("team", "team_grant")).exists()


def test_a_strangers_team_recorded_as_ours_by_an_older_repair_survives(
    synced, platforms, on_commit
):
    """Before the sync checked the marker, a repair could record a team made again by someone
    else under our name, its id and all: the id matches, the marker does not."""
    teams = _teams(synced)
    ours = teams["group-1"]
    client = github_client()
    assert client.delete_team_if_present(ours.data["slug"])
    theirs = client.ensure_team(ours.data["name"], description="Someone else's")
    ExternalResource.objects.filter(id=ours.id).update(
        external_id=str(theirs.id), data={**ours.data, "id": theirs.id}
    )

    operation = _teardown(synced, on_commit)

    assert operation.status == "COMPLETED"
    assert set(_platform_teams(platforms)) == {theirs.slug}
    outcome = operation.params["outcomes"]["REMOVE_GITHUB_TEAMS"]
    # Our recorded id, without the course's marker: not known as ours, as verify reports it.
    assert f"team {theirs.slug} (its description lacks this course's marker" in outcome


def _team_renamed_by_hand(sandbox, team: ExternalResource, name: str, **changes: Any) -> str:
    """Staff rename our team on GitHub (the sandbox has no route for it): its slug changes with
    its name, its id does not. Returns the new slug."""
    fake = sandbox.sandbox.platforms["github"]
    with sandbox.sandbox.lock:
        teams = fake.state.org(ORG).teams
        renamed = teams.pop(team.data["slug"])
        renamed.name, renamed.slug = name, name.lower().replace(" ", "-")
        for field, value in changes.items():
            setattr(renamed, field, value)
        teams[renamed.slug] = renamed
    return renamed.slug


def _org_id(platforms) -> int:
    return platforms.state()["github"]["orgs"][ORG]["id"]


def test_teams_renamed_by_hand_are_found_by_their_ids_and_deleted(
    synced, platforms, sandbox, on_commit
):
    """Renamed, a team answers 404 by its recorded slug: read again by its recorded id (the
    organization's id read once for all), it is deleted under its new slug and said so. A team
    found by its slug costs what it did: no read by id."""
    teams = _teams(synced)
    renamed = {
        purpose: _team_renamed_by_hand(sandbox, teams[purpose], f"Systems {purpose} 2027")
        for purpose in ("group-1", "group-2")
    }
    assert set(_platform_teams(platforms)) == {teams["staff"].data["slug"], *renamed.values()}
    seen = len(platforms.control.requests())

    operation = _teardown(synced, on_commit)

    assert operation.status == "COMPLETED" and synced.deleted_at is not None
    assert _platform_teams(platforms) == {}
    calls = platforms.control.requests(since=seen)
    reads = Counter(
        c["path"]
        for c in calls
        if c["method"] == "GET" and ("/team" in c["path"] or c["path"] == f"/orgs/{ORG}")
    )
    by_id = f"/organizations/{_org_id(platforms)}/team"
    assert reads == Counter(
        [_team_path(team) for team in teams.values()]
        + [f"/orgs/{ORG}"]
        + [f"{by_id}/{teams[purpose].external_id}" for purpose in renamed]
    )
    deleted = Counter({path: n for path, n in _deleted(calls).items() if "/teams/" in path})
    assert deleted == Counter(
        [_team_path(teams["staff"])] + [f"/orgs/{ORG}/teams/{slug}" for slug in renamed.values()]
    )
    outcome = operation.params["outcomes"]["REMOVE_GITHUB_TEAMS"]
    for purpose, slug in renamed.items():
        assert f"team {slug} (renamed by hand from {teams[purpose].data['slug']})" in outcome
    assert outcome.startswith("Deleted team ")
    assert not synced.resources.filter(kind__in=("team", "team_grant")).exists()


def test_a_team_renamed_by_hand_without_our_marker_is_left_and_said_so(
    synced, platforms, sandbox, on_commit
):
    ours = _teams(synced)["group-1"]
    slug = _team_renamed_by_hand(sandbox, ours, "Someone's team", description="Someone's")

    operation = _teardown(synced, on_commit)

    assert operation.status == "COMPLETED"
    left = _platform_teams(platforms)
    assert set(left) == {slug} and str(left[slug]["id"]) == ours.external_id
    outcome = operation.params["outcomes"]["REMOVE_GITHUB_TEAMS"]
    assert outcome == (
        f"Left team {slug} (renamed by hand from {ours.data['slug']}, and its description lacks "
        "this course's marker: not known as ours)."
    )
    assert not synced.resources.filter(kind__in=("team", "team_grant")).exists()


def test_crash_between_a_team_delete_and_its_record_finishes_with_one_delete_per_team(
    synced, platforms, on_commit, settings, monkeypatch
):
    teams = _teams(synced)
    forget = handlers._forget
    crashed: list[str] = []

    def crash_once(ctx, *resources):
        if not crashed and resources[0].kind == "team":
            crashed.append(resources[0].key)
            raise SimulatedCrash(resources[0].key)
        forget(ctx, *resources)

    monkeypatch.setattr(handlers, "_forget", crash_once)
    seen = len(platforms.control.requests())
    with pytest.raises(SimulatedCrash):
        _teardown(synced, on_commit)
    # Deleted on GitHub, still recorded.
    assert synced.resources.filter(kind="team", key=crashed[0]).exists()
    assert _teams_left_on_github(platforms, teams) < len(teams)

    settings.PROVISIONING_LEASE_SECONDS = 0  # the dead run's claim is stale at once
    assert runner.run_course(synced.id).outcome == "COMPLETED"

    synced.refresh_from_db()
    assert synced.deleted_at is not None
    calls = platforms.control.requests(since=seen)
    # Exactly one DELETE sent per team, answered or not: the retry reads the crashed one (404)
    # and only drops its row.
    sent = Counter(c["path"] for c in calls if c["method"] == "DELETE" and "/teams/" in c["path"])
    assert sent == Counter(_team_path(team) for team in teams.values())
    assert {c["status"] for c in calls if c["method"] == "DELETE" and "/teams/" in c["path"]} == {
        204
    }
    assert _platform_teams(platforms) == {}
    assert not synced.resources.filter(kind__in=("team", "team_grant")).exists()


def test_a_recorded_team_without_an_id_is_left_with_its_row_and_said_so(
    laboratory, platforms, on_commit
):
    team = github_client().ensure_team("Systems staff")
    row = ExternalResource.objects.create(
        course=laboratory,
        provider="github",
        kind="team",
        key="staff",
        state="confirmed",
        data={"slug": team.slug, "name": team.name},
    )
    assert f"Leave team {team.slug}" in teardown_plan(course=laboratory)["changes"]
    seen = len(platforms.control.requests())

    operation = _teardown(laboratory, on_commit)

    assert operation.status == "COMPLETED"
    assert _platform_teams(platforms)[team.slug]["id"] == team.id
    calls = platforms.control.requests(since=seen)
    assert not [c for c in calls if "/teams/" in c["path"]]
    assert "no id was recorded" in operation.params["outcomes"]["REMOVE_GITHUB_TEAMS"]
    assert list(laboratory.resources.all()) == [row]


@pytest.mark.parametrize("step_name", CHANGE_STEPS["TEARDOWN"])
def test_crash_after_a_step_before_its_checkpoint(
    laboratory, platforms, on_commit, settings, monkeypatch, step_name
):
    finish = runner._finish_step

    def crash_once(step, status, error):
        if step.name == step_name and status == "COMPLETED":
            monkeypatch.setattr(runner, "_finish_step", finish)
            raise SimulatedCrash(step_name)
        finish(step, status, error)

    monkeypatch.setattr(runner, "_finish_step", crash_once)
    seen = len(platforms.control.requests())
    with pytest.raises(SimulatedCrash):
        _teardown(laboratory, on_commit)

    _finish_and_check(laboratory, platforms, settings, seen)


@pytest.mark.parametrize("kind", ["channel", "role", "repository"])
def test_crash_between_a_delete_and_its_record(
    laboratory, platforms, on_commit, settings, monkeypatch, kind
):
    forget = handlers._forget
    crashed: list[str] = []

    def crash_once(ctx, *resources):
        if not crashed and resources[0].kind == kind:
            crashed.append(resources[0].key)
            raise SimulatedCrash(resources[0].key)
        forget(ctx, *resources)

    monkeypatch.setattr(handlers, "_forget", crash_once)
    seen = len(platforms.control.requests())
    with pytest.raises(SimulatedCrash):
        _teardown(laboratory, on_commit)
    # Deleted on the platform, still recorded.
    assert laboratory.resources.filter(kind=kind, key=crashed[0]).exists()

    _finish_and_check(laboratory, platforms, settings, seen)


def _finish_and_check(course: Course, platforms, settings, seen: int) -> None:
    settings.PROVISIONING_LEASE_SECONDS = 0  # the dead run's claim is stale at once
    result = runner.run_course(course.id)
    course.refresh_from_db()
    assert result.outcome == "COMPLETED" and course.deleted_at is not None
    operation = course.operations.get(kind="TEARDOWN")
    assert operation.status == "COMPLETED"
    # 2 channels, 2 roles, 2 repositories: each deleted once, never twice.
    deleted = _deleted(platforms.control.requests(since=seen))
    assert len(deleted) == 6 and set(deleted.values()) == {1}
    state = platforms.state()
    [guild] = state["discord"]["guilds"].values()
    assert guild["channels"] == [] and guild["name"] == "Staff server 0"
    assert {r["name"] for r in guild["roles"]} == {"@everyone", state["discord"]["bot"]["username"]}
    assert state["github"]["repos"] == {}
    assert not course.resources.exists()


def test_teardown_is_refused_while_busy_and_once_done_and_so_is_everything_else(
    laboratory, on_commit
):
    Operation.objects.create(course=laboratory, kind=Operation.Kind.RENAME)
    with pytest.raises(OperationBusyError):
        course_teardown(course=laboratory)
    Operation.objects.filter(course=laboratory, kind="RENAME").delete()
    _teardown(laboratory, on_commit)

    with pytest.raises(CourseDeletedError):
        course_teardown(course=laboratory)
    with pytest.raises(CourseDeletedError):
        course_verify(course=laboratory)
    with pytest.raises(NothingToRetryError):
        provisioning_retry(course=laboratory)
    assert laboratory.operations.count() == 2


def test_a_second_run_of_a_completed_teardown_makes_no_call(laboratory, platforms, on_commit):
    _teardown(laboratory, on_commit)
    seen = len(platforms.control.requests())

    assert runner.run_course(laboratory.id).outcome == "COMPLETED"

    assert platforms.control.requests(since=seen) == []


def test_an_adopted_role_is_left(platforms, provision, on_commit):
    [guild_id] = platforms.add_servers(1)
    role = discord_client().create_role(guild_id, name="Group 1: Alpha")
    course = provision(name="Systems", type="LABORATORY", groups=("Alpha",))
    recorded = ExternalResource.objects.get(course=course, kind="role")
    assert recorded.external_id == role["id"] and recorded.data["adopted"] is True

    operation = _teardown(course, on_commit)

    assert role["id"] in {r["id"] for r in _guild(platforms, guild_id)["roles"]}
    assert "Group 1: Alpha" in operation.params["outcomes"]["DELETE_DISCORD_ROLES"]


def test_an_intended_channel_whose_create_may_have_been_sent_is_left_and_said_so(
    laboratory, platforms, on_commit
):
    ExternalResource.objects.create(
        course=laboratory,
        provider="discord",
        kind="channel",
        key="lost-answer",
        state="intended",
        data={"creating": True},
    )
    ExternalResource.objects.create(
        course=laboratory, provider="discord", kind="channel", key="never-sent"
    )

    operation = _teardown(laboratory, on_commit)

    assert "#lost-answer" in operation.params["outcomes"]["DELETE_DISCORD_CHANNELS"]
    assert list(laboratory.resources.values_list("key", flat=True)) == ["lost-answer"]


def test_invites_and_staff_overwrites_go_with_their_channel_or_role(laboratory, on_commit):
    channel = ExternalResource.objects.get(
        course=laboratory, kind="channel", key__startswith="group-1"
    )
    role = ExternalResource.objects.get(course=laboratory, kind="role", key="group-1")
    adopted = ExternalResource.objects.create(
        course=laboratory,
        provider="discord",
        kind="channel",
        key="general",
        external_id="123456789012345678",
        state="confirmed",
        data={"name": "general", "adopted": True},
    )

    def row(kind: str, key: str, external_id: str, **data: str) -> None:
        ExternalResource.objects.create(
            course=laboratory,
            provider="discord",
            kind=kind,
            key=key,
            external_id=external_id,
            state="confirmed",
            data=data,
        )

    row("invite", "group-1", "code1", channel_id=channel.external_id)
    row("invite", "lecture", "code2", channel_id=adopted.external_id)
    row("staff_access", "general", adopted.external_id, role_id=role.external_id)

    operation = _teardown(laboratory, on_commit)

    assert "invite link" not in operation.params["outcomes"]["DELETE_DISCORD_CHANNELS"]
    # The adopted channel's invite was deleted by its code (the sandbox no longer had it:
    # "Unknown Invite" counts as done); the staff overwrite on it went with the deleted role,
    # the group channel's invite with the channel.
    assert sorted(laboratory.resources.values_list("kind", "key")) == [("channel", "general")]


def test_a_lecture_link_on_the_adopted_general_is_deleted_before_the_server_goes_back(
    platforms, provision, on_commit, settings
):
    """A pool server goes back to the pool: a link the course made on a channel that stays
    would go on letting the old course's people into the next course's server."""
    settings.GITHUB_WRITE_BUDGET = "100000/60"
    platforms.add_servers(1, default_channels=True)  # Discord's template: #general, adopted
    lecture = provision(name="Algorithms", type="LECTURE")
    assert ExternalResource.objects.get(course=lecture, key="general").data["adopted"] is True
    CourseMember.objects.create(course=lecture, name="Stu", email="stu@example.edu")
    with on_commit():
        members_sync(course=lecture)
    guild_id = (
        lecture.discord_guild_id
        or ExternalResource.objects.get(course=lecture, kind="server").external_id
    )
    links = dict(
        ExternalResource.objects.filter(course=lecture, kind="invite").values_list(
            "key", "external_id"
        )
    )
    live = {invite["code"] for invite in _guild(platforms, guild_id)["invites"]}
    assert set(links.values()) <= live and links  # the members' and staff links
    assert (
        teardown_plan(course=lecture)["changes"].count(f"Delete invite link {links['members']}")
        == 1
    )  # on #general, adopted: said in the plan

    operation = _teardown(lecture, on_commit)

    assert operation.status == "COMPLETED"
    assert not {invite["code"] for invite in _guild(platforms, guild_id)["invites"]}
    assert not lecture.resources.filter(kind="invite").exists()


def test_a_bot_removed_from_the_server_fails_the_tear_down_with_what_staff_must_do(
    laboratory, platforms, on_commit
):
    """Discord's bare 403 becomes the message that says the bot is gone and how to add it back;
    nothing is forgotten, so the tear down finishes once it is back."""
    platforms.control.remove_bot(laboratory.discord_guild_id)
    channels = ExternalResource.objects.filter(course=laboratory, kind="channel").count()

    operation = _teardown(laboratory, on_commit)

    assert operation.status == Operation.Status.FAILED
    failed = operation.steps.get(status="FAILED")
    assert failed.name == "DELETE_DISCORD_CHANNELS" and failed.attempts == 1
    assert f"The bot is not in Discord server {laboratory.discord_guild_id}" in failed.last_error
    assert "oauth2/authorize" in failed.last_error and "tear the course down again" in (
        failed.last_error
    )
    assert ExternalResource.objects.filter(course=laboratory, kind="channel").count() == channels
    assert laboratory.deleted_at is None


def test_a_team_renamed_by_hand_is_deleted_though_a_stranger_took_its_old_name(
    synced, platforms, sandbox, on_commit
):
    """Staff rename our team, then someone makes theirs under its old name: by slug the stranger's
    answers (another id), so ours is looked for by its id, found under its new name and deleted;
    the stranger's is left, and both are said."""
    ours = _teams(synced)["group-1"]
    old_slug = ours.data["slug"]
    new_slug = _team_renamed_by_hand(sandbox, ours, "Renamed by staff")
    theirs = github_client().ensure_team(ours.data["name"], description="Someone's")
    assert theirs.slug == old_slug

    operation = _teardown(synced, on_commit)

    assert operation.status == "COMPLETED"
    left = _platform_teams(platforms)
    assert new_slug not in left and left[old_slug]["id"] == theirs.id
    outcome = operation.params["outcomes"]["REMOVE_GITHUB_TEAMS"]
    assert f"team {old_slug} (not ours: made again by someone else)" in outcome
    assert f"Deleted team {new_slug} (renamed by hand from {old_slug})" in outcome
