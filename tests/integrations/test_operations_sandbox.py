"""The operations' client calls against the sandbox over real HTTP: archive and unarchive, rename,
tear down, verify reads, and drift made behind the app's back through the control endpoints.

Every request the sandbox received is one audit row, and deleting twice is never a failure.
"""

from __future__ import annotations

import pytest

from integrations.discord.client import DiscordClient
from integrations.errors import ConflictError, NotFoundError, PermanentError
from integrations.github.client import GitHubClient, protection_differences
from tests.integrations.helpers import audit_rows

pytestmark = pytest.mark.django_db

ORG = "ops-university"
BOT_ID = "100000000000000001"
VIEW, SEND = 1024, 2048


@pytest.fixture
def discord(sandbox) -> DiscordClient:
    return DiscordClient(
        api_url=sandbox.discord_api_url, token="sandbox-discord-token", safe_retry_delay=0
    )


@pytest.fixture
def github(sandbox, sandbox_control) -> GitHubClient:
    sandbox_control.create_org(ORG, plan="team")
    return GitHubClient(
        api_url=sandbox.github_api_url,
        token="sandbox-github-token",
        org=ORG,
        seconds_between_writes=0,
        safe_retry_delay=0,
    )


def assert_every_request_audited(sandbox_control) -> None:
    received = [(e["provider"], e["method"]) for e in sandbox_control.requests()]
    audited = [(row.provider, row.method) for row in audit_rows()]
    assert audited == received


# -- Discord ------------------------------------------------------------------------------------
def test_archive_edit_then_tear_down_a_group_channel_and_role(discord, sandbox_control):
    guild = sandbox_control.create_guild("Algorithms")["id"]
    role = discord.create_role(guild, name="Group 1")
    private = [
        {"id": guild, "type": 0, "allow": 0, "deny": VIEW},
        {"id": role["id"], "type": 0, "allow": VIEW | SEND, "deny": 0},
        {"id": BOT_ID, "type": 1, "allow": VIEW, "deny": 0},
    ]
    channel = discord.create_channel(guild, name="group-1", permission_overwrites=private)

    # Archive: members keep reading, nobody of the group sends; one PATCH with the whole list.
    archived = [dict(o) for o in private]
    archived[1]["allow"], archived[1]["deny"] = VIEW, SEND
    discord.edit_channel(channel["id"], permission_overwrites=archived, reason="Archive")
    shown = discord.get_channel(channel["id"])["permission_overwrites"]
    assert {o["id"]: (o["allow"], o["deny"]) for o in shown}[role["id"]] == (str(VIEW), str(SEND))
    # Unarchive: the list as it was, exactly.
    discord.edit_channel(channel["id"], permission_overwrites=private, reason="Unarchive")
    again = discord.get_channel(channel["id"])["permission_overwrites"]
    assert again == [{**o, "allow": str(o["allow"]), "deny": str(o["deny"])} for o in private]

    # A single overwrite removed, twice: the second is "already gone", not an error.
    assert discord.delete_channel_permission_if_present(channel["id"], role["id"]) is True
    assert discord.delete_channel_permission_if_present(channel["id"], role["id"]) is False

    # Tear down, twice (a crash between the delete and its record).
    assert discord.delete_channel_if_present(channel["id"], reason="Tear down") is True
    assert discord.delete_channel_if_present(channel["id"], reason="Tear down") is False
    assert discord.delete_role_if_present(guild, role["id"]) is True
    assert discord.delete_role_if_present(guild, role["id"]) is False
    with pytest.raises(NotFoundError):
        discord.get_channel(channel["id"])

    state = sandbox_control.state()["discord"]["guilds"][guild]
    assert state["channels"] == []
    assert [r["name"] for r in state["roles"] if not r["managed"]] == ["@everyone"]
    assert [e["reason"] for e in state["audit_log"] if e["action"] == "CHANNEL_DELETE"] == [
        "Tear down"
    ]
    assert_every_request_audited(sandbox_control)


def test_drift_made_by_hand_is_seen_by_reads(discord, sandbox_control):
    guild = sandbox_control.create_guild("Algorithms")["id"]
    role = discord.create_role(guild, name="Group 1")
    private = [
        {"id": guild, "type": 0, "allow": 0, "deny": VIEW},
        {"id": role["id"], "type": 0, "allow": VIEW, "deny": 0},
        {"id": BOT_ID, "type": 1, "allow": VIEW, "deny": 0},
    ]
    kept = discord.create_channel(guild, name="group-1", permission_overwrites=private)
    doomed = discord.create_channel(guild, name="qa-help")

    sandbox_control.drop_overwrite(kept["id"], guild)
    sandbox_control.delete_channel(doomed["id"])

    # One listing serves every channel of the server.
    listed = {c["id"]: c for c in discord.list_channels(guild)}
    assert doomed["id"] not in listed
    assert guild not in [o["id"] for o in listed[kept["id"]]["permission_overwrites"]]
    # Repair puts the overwrite back; the channel is private again.
    discord.edit_channel_permission(kept["id"], guild, type=0, allow=0, deny=VIEW)
    assert guild in [o["id"] for o in discord.get_channel(kept["id"])["permission_overwrites"]]

    sandbox_control.remove_bot(guild)
    assert discord.get_my_guild(guild) is None
    # The bot is out: a role delete is Unknown Guild, raised (the role may still exist).
    with pytest.raises(NotFoundError) as raised:
        discord.delete_role_if_present(guild, role["id"])
    assert raised.value.code == 10004
    assert_every_request_audited(sandbox_control)


# -- GitHub -------------------------------------------------------------------------------------
def test_archive_refuses_writes_and_unarchive_restores_them(github, sandbox_control):
    github.create_repo("2026-fall-algo", description="Algorithms [course:abc]")
    github.protect_branch("2026-fall-algo", branch="main")

    assert github.set_archived("2026-fall-algo", True).archived is True
    assert github.set_archived("2026-fall-algo", True).archived is True  # again: harmless
    with pytest.raises(PermanentError) as refused:
        github.commit_files("2026-fall-algo", branch="main", files={"x.md": "x"}, message="m")
    assert refused.value.status == 403
    assert "archived so is read-only" in refused.value.message
    with pytest.raises(PermanentError):
        github.protect_branch("2026-fall-algo", branch="main")
    # Reads work on an archived repository.
    assert protection_differences(github.get_protection("2026-fall-algo", branch="main")) == {}

    info = github.set_archived("2026-fall-algo", False)
    assert (info.archived, info.private) == (False, True)
    assert github.commit_files("2026-fall-algo", branch="main", files={"x.md": "x"}, message="m")
    assert_every_request_audited(sandbox_control)


def test_rename_is_safe_to_send_again_and_to_a_taken_name_is_a_conflict(github, sandbox_control):
    made = github.create_repo("2026-fall-algo", description="Algorithms [course:abc]")

    renamed = github.rename_repo(
        "2026-fall-algo", "2026-fall-algorithms", description="Algorithms II [course:abc]"
    )
    # Sent again after a crash: GitHub's 307 is followed, nothing changes.
    again = github.rename_repo("2026-fall-algo", "2026-fall-algorithms")

    assert renamed.id == again.id == made.id
    assert (again.name, again.description) == ("2026-fall-algorithms", "Algorithms II [course:abc]")
    # Reads of the old name follow GitHub's 301.
    assert github.get_repo("2026-fall-algo").name == "2026-fall-algorithms"
    statuses = [e["status"] for e in sandbox_control.requests() if e["method"] == "PATCH"]
    assert statuses == [200, 307, 200]

    github.create_repo("taken", description="someone else's")
    with pytest.raises(ConflictError):
        github.rename_repo("2026-fall-algorithms", "taken")
    assert_every_request_audited(sandbox_control)


def test_tear_down_deletes_only_the_recorded_repository_and_twice_is_fine(github, sandbox_control):
    made = github.create_repo("2026-fall-algo", description="Algorithms [course:abc]")
    # Behind the app's back: renamed by hand, and a look-alike takes the recorded name.
    sandbox_control.rename_repo(f"{ORG}/2026-fall-algo", "algo-by-hand")
    stranger = github.create_repo("2026-fall-algo", description="a look-alike")

    assert github.delete_repo_if_present("2026-fall-algo", repo_id=made.id) is True
    assert github.delete_repo_if_present("2026-fall-algo", repo_id=made.id) is False

    repos = sandbox_control.state()["github"]["repos"]
    assert list(repos) == [f"{ORG}/2026-fall-algo"]
    assert repos[f"{ORG}/2026-fall-algo"]["id"] == stranger.id
    # The freed name of a deleted repository can be made again.
    github.delete_repo("2026-fall-algo")
    assert github.delete_repo_if_present("2026-fall-algo") is False
    assert github.create_repo("2026-fall-algo", description="again").name == "2026-fall-algo"
    assert_every_request_audited(sandbox_control)


def test_an_archived_repository_is_deleted_and_a_member_token_may_not(
    sandbox, sandbox_control, github
):
    github.create_repo("2026-fall-old", description="x")
    github.set_archived("2026-fall-old", True)
    assert github.delete_repo_if_present("2026-fall-old") is True

    sandbox_control.create_org("member-org", role="member")
    member = GitHubClient(
        api_url=sandbox.github_api_url,
        token="sandbox-github-token",
        org="member-org",
        seconds_between_writes=0,
    )
    member.create_repo("kept", description="x")
    with pytest.raises(PermanentError) as refused:
        member.delete_repo_if_present("kept")
    assert refused.value.status == 403 and "admin rights" in refused.value.message


def test_verify_reads_see_protection_removed_visibility_and_rename(github, sandbox_control):
    made = github.create_repo("2026-fall-algo", description="Algorithms [course:abc]")
    github.protect_branch("2026-fall-algo", branch="main")
    assert protection_differences(github.get_protection("2026-fall-algo", branch="main")) == {}

    sandbox_control.remove_protection(f"{ORG}/2026-fall-algo")
    sandbox_control.make_repo_public(f"{ORG}/2026-fall-algo")
    sandbox_control.rename_repo(f"{ORG}/2026-fall-algo", "renamed")

    assert github.get_protection("renamed", branch="main") is None
    current = github.get_repo_by_id(made.id)
    assert (current.name, current.private, current.archived) == ("renamed", False, False)
    with pytest.raises(NotFoundError):
        github.get_protection("renamed", branch="no-such-branch")

    # Repair, one write each.
    github.rename_repo("renamed", "2026-fall-algo")
    github.set_private("2026-fall-algo")
    github.protect_branch("2026-fall-algo", branch="main")
    repaired = github.get_repo_by_id(made.id)
    assert (repaired.name, repaired.private) == ("2026-fall-algo", True)
    assert protection_differences(github.get_protection("2026-fall-algo", branch="main")) == {}
    assert_every_request_audited(sandbox_control)
