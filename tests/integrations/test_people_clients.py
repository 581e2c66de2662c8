"""The roster sync's GitHub client calls against the sandbox over real HTTP: teams, repository
grants, team memberships, organization invitations and the invitation limit; every request
audited, idempotent helpers sending no second write, errors typed."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import responses
from responses import matchers

from integrations.discord.client import DiscordClient
from integrations.errors import NotFoundError, PermanentError, RateLimitedError, TransientError
from integrations.github.client import (
    GitHubClient,
    InvitationLimitError,
    OrgInvitation,
    TeamMembership,
    team_slug,
)
from tests.integrations.helpers import audit_rows

pytestmark = pytest.mark.django_db

ORG = "people-university"
DAY = 24 * 3600


def client(sandbox) -> GitHubClient:
    return GitHubClient(
        api_url=sandbox.github_api_url,
        token="sandbox-github-token",
        org=ORG,
        seconds_between_writes=0,
        safe_retry_delay=0,
        write_budget=((10_000, 60.0),),  # the client's pacing is tested elsewhere
    )


@pytest.fixture
def github(sandbox, sandbox_control) -> GitHubClient:
    sandbox_control.create_org(ORG, plan="team")
    return client(sandbox)


@pytest.fixture
def free_github(sandbox, sandbox_control) -> GitHubClient:
    sandbox_control.create_org(ORG, plan="free")
    return client(sandbox)


def sent(sandbox_control, since: int = 0) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in sandbox_control.requests(since)]


def last_id(sandbox_control) -> int:
    log = sandbox_control.requests()
    return log[-1]["id"] if log else 0


def writes(sandbox_control, since: int) -> int:
    return sum(1 for method, _ in sent(sandbox_control, since) if method != "GET")


def test_team_slug_follows_github():
    assert team_slug("Algo 2026: Group 1") == "algo-2026-group-1"
    assert team_slug("staff_algo") == "staff_algo"


def test_ensure_team_creates_once_then_only_reads(github, sandbox_control):
    team = github.ensure_team("Algo Staff", description="Course staff")
    assert (team.slug, team.name) == ("algo-staff", "Algo Staff")
    mark = last_id(sandbox_control)
    assert github.ensure_team("Algo Staff") == team
    assert writes(sandbox_control, mark) == 0
    assert github.get_team("nope") is None
    # every request is one audit row
    assert len(audit_rows()) == len(sandbox_control.requests())


def test_grant_team_repo_and_read_it_back(github, sandbox_control):
    github.create_repo("algo-g1", description="Group 1")
    github.ensure_team("g1")
    assert github.get_team_repo_permission("g1", "algo-g1") is None
    github.grant_team_repo("g1", "algo-g1", permission="push")
    assert github.get_team_repo_permission("g1", "algo-g1") == "push"
    github.grant_team_repo("g1", "algo-g1", permission="maintain")
    assert github.get_team_repo_permission("g1", "algo-g1") == "maintain"
    with pytest.raises(PermanentError, match="422"):
        github.grant_team_repo("g1", "algo-g1", permission="owner")
    with pytest.raises(NotFoundError):
        github.grant_team_repo("missing-team", "algo-g1", permission="pull")


def test_membership_pending_then_active_and_removal_idempotent(github, sandbox_control):
    github.ensure_team("g1")
    assert github.get_team_membership("g1", "ada") is None
    first = github.set_team_membership("g1", "ada")
    assert first == TeamMembership(username="ada", role="member", state="pending")
    # repeating it (a retry, a crash recovery) sends no second invitation
    assert github.set_team_membership("g1", "ada").state == "pending"
    assert [i.login for i in github.list_org_invitations()] == ["ada"]
    sandbox_control.accept_github_invitation(ORG, login="ada")
    assert github.get_team_membership("g1", "ada").state == "active"
    assert github.remove_team_membership("g1", "ada") is True
    assert github.remove_team_membership("g1", "ada") is False
    assert github.get_team_membership("g1", "ada") is None


def test_blocked_user_membership_is_a_permanent_error(github, sandbox_control):
    github.ensure_team("g1")
    sandbox_control.block_github_org(ORG, "troll")
    with pytest.raises(PermanentError, match="422"):
        github.set_team_membership("g1", "troll")


def test_is_org_member_is_one_audited_read_and_only_204_means_a_member(
    github, sandbox, sandbox_control
):
    mark = last_id(sandbox_control)
    assert github.is_org_member("ada") is False  # 404
    sandbox_control.add_github_member(ORG, "ada")
    assert github.is_org_member("Ada") is True  # 204
    assert [m for m, _ in sent(sandbox_control, mark)] == ["GET", "GET"]
    assert [(r.method, r.route, r.response_status) for r in audit_rows()] == [
        ("GET", "/orgs/{org}/members/ada", 404),
        ("GET", "/orgs/{org}/members/Ada", 204),
    ]
    # a requester outside the organization gets 302: not known to be a member, not followed
    sandbox_control.create_org("elsewhere", plan="team", role="none")
    outside = GitHubClient(
        api_url=sandbox.github_api_url, token="sandbox-github-token", org="elsewhere"
    )
    mark = last_id(sandbox_control)
    assert outside.is_org_member("ada") is False
    assert [e["status"] for e in sandbox_control.requests(mark)] == [302]


def test_is_org_member_repeats_a_read_after_a_server_error():
    api = "https://github.test/api/v3"
    github = GitHubClient(
        api_url=api, token="t", org=ORG, seconds_between_writes=0, safe_retry_delay=0
    )
    url = re.compile(rf".*/orgs/{ORG}/members/ada$")
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, url, status=502, json={})
        mock.add(responses.GET, url, status=204)
        assert github.is_org_member("ada") is True
        assert len(mock.calls) == 2
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, url, status=403, json={"message": "Resource not accessible"})
        with pytest.raises(PermanentError, match="403"):
            github.is_org_member("ada")


def test_get_team_by_id_reads_the_organizations_id_once_and_a_404_is_none():
    """``GET /organizations/{org_id}/team/{team_id}``, the route by id GitHub documents: the
    organization's id read once per client; a team gone is None, an organization we cannot see
    an error (not a team gone); a 502 on the read is repeated."""
    api = "https://github.test/api/v3"
    github = GitHubClient(
        api_url=api, token="t", org=ORG, seconds_between_writes=0, safe_retry_delay=0
    )
    org_url = re.compile(rf".*/orgs/{ORG}$")
    team_5, team_6 = (re.compile(rf".*/organizations/77/team/{n}$") for n in (5, 6))
    team = {"id": 5, "slug": "algo-staff-2026", "name": "Algo Staff 2026", "description": "Ours"}
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, org_url, json={"login": ORG, "id": 77})
        mock.add(responses.GET, team_5, status=502, json={})
        mock.add(responses.GET, team_5, json=team)
        mock.add(responses.GET, team_6, status=404, json={"message": "Not Found"})
        found = github.get_team_by_id(5)
        assert (found.id, found.slug, found.description) == (5, "algo-staff-2026", "Ours")
        assert github.get_team_by_id(6) is None
        assert [urlsplit(call.request.url).path for call in mock.calls] == [
            f"/api/v3/orgs/{ORG}",
            "/api/v3/organizations/77/team/5",
            "/api/v3/organizations/77/team/5",
            "/api/v3/organizations/77/team/6",
        ]
    # Audited under one route for every team, as ``/repositories/{repo_id}`` is.
    assert [(r.route, r.response_status) for r in audit_rows()] == [
        ("/orgs/{org}", 200),
        ("/organizations/{org_id}/team/{team_id}", 502),
        ("/organizations/{org_id}/team/{team_id}", 200),
        ("/organizations/{org_id}/team/{team_id}", 404),
    ]
    elsewhere = GitHubClient(api_url=api, token="t", org="gone-org", safe_retry_delay=0)
    with responses.RequestsMock() as mock:
        gone = re.compile(r".*/orgs/gone-org$")
        mock.add(responses.GET, gone, status=404, json={"message": "Not Found"})
        with pytest.raises(NotFoundError, match="read organization gone-org"):
            elsewhere.get_team_by_id(5)
        assert len(mock.calls) == 1


def test_invite_list_cancel(github, sandbox_control):
    team = github.ensure_team("g1")
    invitation = github.invite_to_org(email="ada@uni.example", team_ids=[team.id])
    assert isinstance(invitation, OrgInvitation)
    assert (invitation.email, invitation.login, invitation.team_count) == (
        "ada@uni.example",
        None,
        1,
    )
    assert github.list_org_invitations() == [invitation]
    assert github.cancel_org_invitation(invitation.id) is True
    assert github.cancel_org_invitation(invitation.id) is False
    assert github.list_org_invitations() == []
    with pytest.raises(ValueError, match="exactly one"):
        github.invite_to_org()
    # the same email twice is refused by GitHub: a permanent error, not a second invitation
    github.invite_to_org(email="bob@uni.example")
    with pytest.raises(PermanentError, match="422"):
        github.invite_to_org(email="bob@uni.example")
    assert len(github.list_org_invitations()) == 1


def test_invitation_team_ids_reads_the_teams_an_invitation_carries(github, sandbox_control):
    ours, other = github.ensure_team("g1"), github.ensure_team("g2")
    invitation = github.invite_to_org(email="ada@uni.example", team_ids=[ours.id, other.id])
    bare = github.invite_to_org(email="bob@uni.example")
    mark = last_id(sandbox_control)
    assert github.invitation_team_ids(invitation.id) == [ours.id, other.id]
    assert github.invitation_team_ids(bare.id) == []
    assert sent(sandbox_control, mark) == [
        ("GET", f"/orgs/{ORG}/invitations/{invitation.id}/teams"),
        ("GET", f"/orgs/{ORG}/invitations/{bare.id}/teams"),
    ]
    # a deleted team is no longer on it; an invitation no longer pending reads as None
    github.delete_team_if_present("g2")
    assert github.invitation_team_ids(invitation.id) == [ours.id]
    github.cancel_org_invitation(invitation.id)
    assert github.invitation_team_ids(invitation.id) is None


def test_invitation_team_ids_is_repeated_after_a_server_error():
    """A read: a 502 changed nothing, the client asks again and pages through 100 at a time."""
    api = "https://github.test/api/v3"
    github = GitHubClient(
        api_url=api, token="t", org=ORG, seconds_between_writes=0, safe_retry_delay=0
    )
    teams = re.compile(rf".*/orgs/{ORG}/invitations/7/teams\?.*")

    def page(number: int) -> list:
        return [matchers.query_param_matcher({"per_page": "100", "page": str(number)})]

    with responses.RequestsMock() as mock:
        mock.add(responses.GET, teams, status=502, json={}, match=page(1))
        full = [{"id": n, "slug": f"t{n}"} for n in range(100)]
        mock.add(responses.GET, teams, json=full, match=page(1))
        mock.add(responses.GET, teams, json=[{"id": 100, "slug": "t100"}], match=page(2))
        assert github.invitation_team_ids(7) == list(range(101))
        assert len(mock.calls) == 3
    with responses.RequestsMock() as mock:
        gone = re.compile(rf".*/orgs/{ORG}/invitations/8/teams.*")
        mock.add(responses.GET, gone, status=404, json={"message": "Not Found"})
        assert github.invitation_team_ids(8) is None
        assert len(mock.calls) == 1  # a 404 is an answer, not repeated


def test_list_org_invitations_follows_pages(github):
    for number in range(101):
        github.invite_to_org(email=f"s{number}@uni.example")
    listed = github.list_org_invitations()
    assert len(listed) == 101 and len({i.id for i in listed}) == 101


def test_invitation_limit_is_a_typed_rate_limit(free_github, sandbox_control):
    for number in range(50):
        free_github.invite_to_org(email=f"s{number}@uni.example")
    mark = last_id(sandbox_control)
    with pytest.raises(InvitationLimitError) as caught:
        free_github.invite_to_org(email="s50@uni.example")
    assert isinstance(caught.value, RateLimitedError)
    assert caught.value.retry_after == DAY
    assert "50 organization invitations per 24 hours" in caught.value.message
    # a POST is never repeated: exactly one request reached GitHub
    assert len(sent(sandbox_control, mark)) == 1
    sandbox_control.advance_github_clock(DAY)
    assert free_github.invite_to_org(email="s50@uni.example").email == "s50@uni.example"


def test_invite_is_not_repeated_after_a_server_error():
    """A 502 after the POST may hide a sent invitation: one request, a transient error out."""
    api = "https://github.test/api/v3"
    github = GitHubClient(
        api_url=api, token="t", org=ORG, seconds_between_writes=0, safe_retry_delay=0
    )
    with responses.RequestsMock() as mock:
        # PyGithub names the port (github.test:443): match the path
        mock.add(responses.POST, re.compile(rf".*/orgs/{ORG}/invitations$"), status=502, json={})
        with pytest.raises(TransientError):
            github.invite_to_org(email="a@uni.example")
        assert len(mock.calls) == 1


# -- Discord: invite links that give a group's role --------------------------------------------
@pytest.fixture
def discord(sandbox) -> DiscordClient:
    return DiscordClient(
        api_url=sandbox.discord_api_url, token="sandbox-discord-token", safe_retry_delay=0
    )


def test_create_invite_with_role_listed_and_accepted(discord, sandbox_control):
    guild = sandbox_control.create_guild("Algorithms")["id"]
    role = discord.create_role(guild, name="Group 1")["id"]
    channel = discord.create_channel(guild, name="group-1")["id"]
    invite = discord.create_invite(channel, role_ids=[role])
    assert invite["max_age"] == 0 and invite["max_uses"] == 0 and invite["expires_at"] is None
    assert [r["id"] for r in invite["roles"]] == [role]
    staff = discord.create_invite(channel)
    assert staff["code"] != invite["code"]  # unique: a new code even for the same channel
    listed = discord.list_guild_invites(guild)
    assert {i["code"] for i in listed} == {invite["code"], staff["code"]}
    joined = sandbox_control.accept_discord_invite(invite["code"], "ada")
    assert discord.get_member(guild, joined["user_id"])["roles"] == [role]
    # the body sent is valid for the official description (the sandbox checked it) and audited
    posted = [row for row in audit_rows() if row.method == "POST" and "invites" in row.route]
    assert posted[0].request_body == {
        "max_age": 0,
        "max_uses": 0,
        "unique": True,
        "role_ids": [role],
    }
    assert len(audit_rows()) == len(sandbox_control.requests())


def test_create_invite_with_an_unknown_role_is_a_permanent_error(discord, sandbox_control):
    guild = sandbox_control.create_guild("Algorithms")["id"]
    channel = discord.create_channel(guild, name="group-1")["id"]
    with pytest.raises(PermanentError):
        discord.create_invite(channel, role_ids=["123456789012345678"])
    assert discord.list_guild_invites(guild) == []
