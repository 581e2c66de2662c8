"""Both course types provisioned end to end against the sandbox over real HTTP."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditLog
from courses.models import Course
from courses.services import course_create
from provisioning import runner
from provisioning.models import ExternalResource, ProvisioningStep
from provisioning.runner import run_course
from sandbox.discord.schema import validate_request_body_with_spec
from tests.conftest import ORG
from tests.helpers import REFERENCE
from tests.provisioning.helpers import (
    SEEDED_FILES,
    assert_no_duplicates,
    channel_named,
    guild_of,
    overwrites_of,
)

pytestmark = pytest.mark.django_db
SPEC = REFERENCE / "discord-openapi.json"
BOT_ID = "100000000000000001"


def test_lecture_gets_its_server_channels_and_a_seeded_protected_private_repo(platforms, provision):
    [guild_id] = platforms.add_servers(1)
    course = provision(name="Algorithms", type="LECTURE")

    assert course.status == Course.Status.COMPLETED
    assert course.discord_guild_id == guild_id
    steps = list(course.steps.values_list("name", "status", "attempts"))
    assert steps == [
        ("SETUP_DISCORD_SERVER", "COMPLETED", 1),
        ("CREATE_DISCORD_CHANNELS", "COMPLETED", 1),
        ("CREATE_GITHUB_REPO", "COMPLETED", 1),
        ("SEED_GITHUB_CONTENT", "COMPLETED", 1),
        ("APPLY_BRANCH_PROTECTION", "COMPLETED", 1),
    ]
    state = platforms.state()
    guild = guild_of(state, course)
    assert guild["name"] == "Algorithms · 2026-fall"
    text = sorted(c["name"] for c in guild["channels"] if c["type"] == 0)
    assert text == ["announcements", "general", "lectures", "qa-help"]
    assert overwrites_of(channel_named(guild, "announcements")) == {
        (guild_id, 0, "0", "2048"),  # @everyone may read but not post
        (BOT_ID, 1, "68608", "0"),
    }

    repo = state["github"]["repos"][f"{ORG}/2026-fall-algorithms"]
    assert repo["private"] is True
    assert f"[course:{course.id}]" in repo["description"]
    assert set(repo["files"]) == SEEDED_FILES
    assert "# Algorithms" in repo["files"]["README.md"]
    assert repo["commits"] == 2  # GitHub's initial commit, then all five files in one commit
    protection = repo["protection"]["main"]
    assert protection["required_pull_request_reviews"]["required_approving_review_count"] == 1
    assert protection["allow_force_pushes"] is False
    assert protection["allow_deletions"] is False
    assert_no_duplicates(state)


def test_laboratory_gets_a_role_private_channel_and_repo_per_group(platforms, provision):
    [guild_id] = platforms.add_servers(1)
    course = provision(name="Networks Lab", type="LABORATORY", groups=("Alpha", "Beta Team"))

    assert course.status == Course.Status.COMPLETED
    state = platforms.state()
    guild = guild_of(state, course)
    roles = {r["name"]: r["id"] for r in guild["roles"]}
    assert {"Group 1: Alpha", "Group 2: Beta Team"} <= set(roles)
    text = sorted(c["name"] for c in guild["channels"] if c["type"] == 0)
    assert text == ["group-1-alpha", "group-2-beta-team"]
    assert overwrites_of(channel_named(guild, "group-2-beta-team")) == {
        (guild_id, 0, "0", "1024"),  # @everyone cannot see it
        (roles["Group 2: Beta Team"], 0, "68608", "0"),
        (BOT_ID, 1, "68608", "0"),
    }
    repos = state["github"]["repos"]
    assert sorted(repos) == [
        f"{ORG}/2026-fall-networks-lab-group-1",
        f"{ORG}/2026-fall-networks-lab-group-2",
    ]
    for repo in repos.values():
        assert repo["private"] is True
        assert set(repo["files"]) == SEEDED_FILES
        assert repo["protection"]["main"]["allow_force_pushes"] is False
    kinds = sorted(course.resources.values_list("kind", flat=True))
    assert kinds == sorted(["server"] + ["role", "channel", "repository", "seed", "protection"] * 2)
    assert not course.resources.exclude(state=ExternalResource.State.CONFIRMED).exists()
    assert_no_duplicates(state)


def test_rerunning_a_completed_course_sends_no_request(platforms, provision):
    platforms.add_servers(1)
    course = provision(type="LABORATORY", groups=("A",))
    before = len(platforms.requests())

    run_course(course.id)
    course.steps.update(status=ProvisioningStep.Status.PENDING)  # even with every step pending
    course.status = Course.Status.PENDING
    course.save()
    run_course(course.id)

    assert len(platforms.requests()) == before
    course.refresh_from_db()
    assert course.status == Course.Status.COMPLETED


def test_every_request_is_audited_once_without_secrets(platforms, provision):
    platforms.add_servers(2)
    lecture = provision(name="Compilers", type="LECTURE")
    lab = provision(name="Compilers Lab", type="LABORATORY", groups=("A", "B"))

    received = platforms.requests()
    audited = AuditLog.objects.all()
    assert audited.count() == len(received)
    assert set(audited.values_list("course_id", flat=True)) == {lecture.id, lab.id}
    assert not audited.filter(step="").exists()
    dumped = json.dumps(list(audited.values()), default=str)
    assert "sandbox-discord-token" not in dumped
    assert "sandbox-github-token" not in dumped
    by_route = {(row.provider, row.method, row.route) for row in audited}
    assert ("github", "POST", "/orgs/{org}/repos") in by_route
    assert ("discord", "POST", "/guilds/{guild_id}/channels") in by_route


def test_every_discord_request_validates_against_the_official_openapi(platforms, provision):
    platforms.add_servers(2)
    provision(name="Databases", type="LECTURE")
    provision(name="Databases Lab", type="LABORATORY", groups=("A", "B"))

    sent = [entry for entry in platforms.requests("discord") if entry["method"] != "GET"]
    assert sent
    for entry in sent:
        assert (
            validate_request_body_with_spec(SPEC, entry["method"], entry["route"], entry["body"])
            == []
        )


def test_the_longest_group_name_still_makes_a_valid_channel(platforms, provision):
    platforms.add_servers(1)
    course = provision(name="Long Lab", type="LABORATORY", groups=("x" * 100,))

    assert course.status == Course.Status.COMPLETED
    [channel] = [c for c in guild_of(platforms.state(), course)["channels"] if c["type"] == 0]
    assert channel["name"] == ("group-1-" + "x" * 100)[:100]


def test_the_pool_never_hands_out_a_server_another_course_named(platforms, provision):
    named, spare = platforms.add_servers(2)
    # Created first but not yet run (outside provision(), its on_commit task never fires here).
    waiting = course_create(
        name="Named", semester="2026-fall", type="LECTURE", discord_guild_id=named
    )
    pooled = provision(name="Pooled")

    assert pooled.status == "COMPLETED"
    assert pooled.discord_guild_id == spare
    runner.run_course(waiting.id)
    waiting.refresh_from_db()
    assert waiting.status == "COMPLETED"
    assert waiting.discord_guild_id == named
