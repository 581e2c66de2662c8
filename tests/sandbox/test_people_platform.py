"""What the roster sync needs from the fake GitHub, over HTTP: teams, team repository
permissions, team memberships (pending until accepted), organization invitations with the
24-hour limit, and the control endpoints (accept, block, advance the clock)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.sandbox.test_operations_platform import GitHub, assert_github_error, make_repo

ORG = "course-org"
DAY = 24 * 3600


@pytest.fixture
def free_gh(sandbox, sandbox_control) -> GitHub:
    """A new organization on the free plan: 50 invitations per 24 hours."""
    sandbox_control.create_org(ORG, plan="free")
    return GitHub(sandbox.github_api_url)


@pytest.fixture
def gh(sandbox, sandbox_control) -> GitHub:
    sandbox_control.create_org(ORG, plan="team")
    return GitHub(sandbox.github_api_url)


def make_team(gh: GitHub, name: str = "Algo Staff") -> dict[str, Any]:
    answer = gh("POST", f"/orgs/{ORG}/teams", json={"name": name, "privacy": "closed"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def invite(gh: GitHub, **body: Any) -> requests.Response:
    return gh("POST", f"/orgs/{ORG}/invitations", json=body)


def people(sandbox_control) -> dict[str, Any]:
    return sandbox_control.state()["github"]["orgs"][ORG]["people"]


# -- teams ----------------------------------------------------------------------------------------
def test_team_is_created_with_a_slug_read_back_and_unique_by_name(gh):
    team = make_team(gh, "Algo 2026 Group 1")
    assert team["slug"] == "algo-2026-group-1"
    assert team["name"] == "Algo 2026 Group 1"
    assert team["privacy"] == "closed"
    got = gh("GET", f"/orgs/{ORG}/teams/algo-2026-group-1")
    assert got.status_code == 200 and got.json()["id"] == team["id"]
    assert [t["slug"] for t in gh("GET", f"/orgs/{ORG}/teams").json()] == ["algo-2026-group-1"]
    again = gh("POST", f"/orgs/{ORG}/teams", json={"name": "Algo 2026 Group 1"})
    assert_github_error(again, 422, "Validation Failed")
    assert again.json()["errors"][0]["message"] == "Name must be unique for this org"
    assert_github_error(gh("GET", f"/orgs/{ORG}/teams/nope"), 404, "Not Found")


def test_a_team_deleted_and_made_again_under_its_name_is_another_team_with_a_new_id(gh):
    """As on GitHub: the slug comes back, the id does not (what tear down compares)."""
    first = make_team(gh, "Algo Staff")
    assert gh("DELETE", f"/orgs/{ORG}/teams/algo-staff").status_code == 204
    assert_github_error(gh("GET", f"/orgs/{ORG}/teams/algo-staff"), 404, "Not Found")
    again = make_team(gh, "Algo Staff")
    assert again["slug"] == first["slug"] and again["id"] != first["id"]
    assert gh("GET", f"/orgs/{ORG}/teams/algo-staff").json()["id"] == again["id"]


def test_a_team_is_read_by_its_ids_whatever_its_slug_until_it_is_gone(gh, sandbox, sandbox_control):
    """``GET /organizations/{org_id}/team/{team_id}``, where every team's ``url`` points: the
    same answer as by slug, and still the team once renamed by hand (its slug changes with its
    name, not its id); 404 once it is deleted, and for ids that are not an organization's or
    its team's."""
    team = make_team(gh, "Algo Staff")
    org_id = gh("GET", f"/orgs/{ORG}").json()["id"]
    by_id = f"/organizations/{org_id}/team/{team['id']}"
    assert team["url"].endswith(by_id)
    answer = gh("GET", by_id)
    assert answer.status_code == 200
    assert answer.json() == gh("GET", f"/orgs/{ORG}/teams/algo-staff").json()
    # Renamed by hand on GitHub (the sandbox has no route for it): a new name, a new slug.
    fake = sandbox.sandbox.platforms["github"]
    with sandbox.sandbox.lock:
        teams = fake.state.org(ORG).teams
        renamed = teams.pop("algo-staff")
        renamed.name, renamed.slug = "Algo Staff 2026", "algo-staff-2026"
        teams[renamed.slug] = renamed
    assert_github_error(gh("GET", f"/orgs/{ORG}/teams/algo-staff"), 404, "Not Found")
    moved = gh("GET", by_id).json()
    assert (moved["id"], moved["slug"], moved["name"]) == (
        team["id"],
        "algo-staff-2026",
        renamed.name,
    )
    assert moved == gh("GET", f"/orgs/{ORG}/teams/algo-staff-2026").json()

    other = sandbox_control.create_org("other-org")
    for path in (
        f"/organizations/{other['id']}/team/{team['id']}",  # another organization's teams
        f"/organizations/{org_id}/team/{team['id'] + 1}",
        f"/organizations/{org_id}/team/algo-staff-2026",
        f"/organizations/{org_id + 1000}/team/{team['id']}",
    ):
        assert_github_error(gh("GET", path), 404, "Not Found")
    assert gh("DELETE", f"/orgs/{ORG}/teams/algo-staff-2026").status_code == 204
    assert_github_error(gh("GET", by_id), 404, "Not Found")


def test_team_bad_input_is_a_clear_422(gh):
    assert_github_error(
        gh("POST", f"/orgs/{ORG}/teams", json={}),
        422,
        'Invalid request.\n\n"name" wasn\'t supplied.',
    )
    bad = gh("POST", f"/orgs/{ORG}/teams", json={"name": "x", "privacy": "public"})
    assert bad.status_code == 422 and "privacy" in bad.json()["message"]


def test_team_repository_permission_is_set_and_read_back(gh):
    make_repo(gh, "algo")
    make_team(gh, "staff")
    path = f"/orgs/{ORG}/teams/staff/repos/{ORG}/algo"
    assert_github_error(gh("GET", path), 404, "Not Found")
    assert gh("PUT", path, json={"permission": "maintain"}).status_code == 204
    assert gh("GET", path).json()["role_name"] == "maintain"
    assert gh("PUT", path, json={"permission": "pull"}).status_code == 204
    assert gh("GET", path).json()["role_name"] == "pull"
    bad = gh("PUT", path, json={"permission": "owner"})
    assert bad.status_code == 422 and "permission" in bad.json()["message"]
    assert_github_error(
        gh("PUT", f"/orgs/{ORG}/teams/staff/repos/{ORG}/missing", json={"permission": "push"}),
        404,
        "Not Found",
    )


# -- team memberships -----------------------------------------------------------------------------
def test_membership_is_pending_until_accepted_then_active(gh, sandbox_control):
    make_team(gh, "g1")
    path = f"/orgs/{ORG}/teams/g1/memberships/ada"
    assert_github_error(gh("GET", path), 404, "Not Found")
    put = gh("PUT", path, json={"role": "member"})
    assert put.status_code == 200
    assert put.json()["state"] == "pending" and put.json()["role"] == "member"
    # the membership invited ada to the organization: one pending invitation, counted
    pending = gh("GET", f"/orgs/{ORG}/invitations").json()
    assert [(i["login"], i["team_count"]) for i in pending] == [("ada", 1)]
    # putting it again changes nothing and sends no second invitation
    assert gh("PUT", path, json={"role": "member"}).json()["state"] == "pending"
    assert people(sandbox_control)["invitations_sent"] == 1
    sandbox_control.accept_github_invitation(ORG, login="ada")
    assert gh("GET", path).json()["state"] == "active"
    assert gh("GET", f"/orgs/{ORG}/invitations").json() == []
    # a member of the organization joins another team at once, without an invitation
    make_team(gh, "g2")
    other = gh("PUT", f"/orgs/{ORG}/teams/g2/memberships/ada", json={"role": "maintainer"})
    assert other.json() == {**other.json(), "state": "active", "role": "maintainer"}
    assert people(sandbox_control)["invitations_sent"] == 1


def test_removing_a_pending_membership_cancels_its_invitation(gh, sandbox_control):
    make_team(gh, "g1")
    path = f"/orgs/{ORG}/teams/g1/memberships/bob"
    gh("PUT", path, json={})
    assert gh("DELETE", path).status_code == 204
    assert_github_error(gh("GET", path), 404, "Not Found")
    assert gh("GET", f"/orgs/{ORG}/invitations").json() == []
    assert_github_error(gh("DELETE", path), 404, "Not Found")


def test_a_user_who_blocked_the_organization_answers_422(gh, sandbox_control):
    make_team(gh, "g1")
    sandbox_control.block_github_org(ORG, "troll")
    answer = gh("PUT", f"/orgs/{ORG}/teams/g1/memberships/troll", json={})
    assert_github_error(answer, 422, "Validation Failed")
    assert gh("GET", f"/orgs/{ORG}/invitations").json() == []


def test_organization_membership_check_is_204_for_a_member_and_404_otherwise(
    gh, sandbox, sandbox_control
):
    """``GET /orgs/{org}/members/{username}`` as GitHub answers it; a member's team membership
    is active at once and sends no invitation."""
    assert_github_error(
        gh("GET", f"/orgs/{ORG}/members/ada"),
        404,
        "User does not exist or is not a member of the organization",
    )
    sandbox_control.add_github_member(ORG, "Ada")
    member = gh("GET", f"/orgs/{ORG}/members/ADA")
    assert (member.status_code, member.content) == (204, b"")
    make_team(gh, "g1")
    put = gh("PUT", f"/orgs/{ORG}/teams/g1/memberships/ada", json={})
    assert put.json()["state"] == "active"
    assert people(sandbox_control)["invitations_sent"] == 0
    assert gh("GET", f"/orgs/{ORG}/invitations").json() == []
    # someone invited is not a member until they accept
    gh("PUT", f"/orgs/{ORG}/teams/g1/memberships/bob", json={})
    assert gh("GET", f"/orgs/{ORG}/members/bob").status_code == 404
    sandbox_control.accept_github_invitation(ORG, login="bob")
    assert gh("GET", f"/orgs/{ORG}/members/bob").status_code == 204
    assert_github_error(gh("GET", "/orgs/nope/members/ada"), 404, "Not Found")
    # a requester outside the organization is sent to the public membership check
    sandbox_control.create_org("other-org", plan="team", role="none")
    outside = gh("GET", "/orgs/other-org/members/ada")
    assert outside.status_code == 302
    assert outside.headers["location"].endswith("/orgs/other-org/public_members/ada")
    control = f"{sandbox.url}/_sandbox/github/orgs"
    assert requests.put(f"{control}/{ORG}/members/-bad-", timeout=5).status_code == 400
    assert requests.put(f"{control}/nope/members/ada", timeout=5).status_code == 404


def test_membership_bad_role_is_422(gh):
    make_team(gh, "g1")
    bad = gh("PUT", f"/orgs/{ORG}/teams/g1/memberships/ada", json={"role": "owner"})
    assert bad.status_code == 422 and "role" in bad.json()["message"]


# -- organization invitations ---------------------------------------------------------------------
def test_email_invitation_with_team_is_listed_cancelled_and_accepted(gh, sandbox_control):
    team = make_team(gh, "g1")
    sent = invite(gh, email="ada@uni.example", role="direct_member", team_ids=[team["id"]])
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["email"] == "ada@uni.example" and body["login"] is None
    assert body["team_count"] == 1 and body["role"] == "direct_member"
    assert [i["id"] for i in gh("GET", f"/orgs/{ORG}/invitations").json()] == [body["id"]]
    # the same email again is refused: an invitation is never sent twice
    assert_github_error(invite(gh, email="ADA@uni.example"), 422, "Validation Failed")
    # accepting (by the account whose verified email matches) makes an active team member
    sandbox_control.accept_github_invitation(ORG, invitation_id=body["id"], login="ada-l")
    member = gh("GET", f"/orgs/{ORG}/teams/g1/memberships/ada-l").json()
    assert member["state"] == "active"
    # a second invitation, cancelled
    other = invite(gh, email="bob@uni.example").json()
    assert gh("DELETE", f"/orgs/{ORG}/invitations/{other['id']}").status_code == 204
    assert gh("GET", f"/orgs/{ORG}/invitations").json() == []
    assert_github_error(gh("DELETE", f"/orgs/{ORG}/invitations/{other['id']}"), 404, "Not Found")


def test_an_invitations_teams_are_listed_until_it_is_no_longer_pending(gh, sandbox_control):
    g1, g2 = make_team(gh, "g1"), make_team(gh, "g2")
    body = invite(gh, email="ada@uni.example", team_ids=[g1["id"], g2["id"]]).json()
    assert body["invitation_teams_url"].endswith(f"/invitations/{body['id']}/teams")
    teams = gh("GET", f"/orgs/{ORG}/invitations/{body['id']}/teams")
    assert teams.status_code == 200
    assert [(t["id"], t["slug"]) for t in teams.json()] == [(g1["id"], "g1"), (g2["id"], "g2")]
    paged = gh("GET", f"/orgs/{ORG}/invitations/{body['id']}/teams?per_page=1&page=2").json()
    assert [t["slug"] for t in paged] == ["g2"]
    sandbox_control.accept_github_invitation(ORG, invitation_id=body["id"], login="ada-l")
    gone = gh("GET", f"/orgs/{ORG}/invitations/{body['id']}/teams")
    assert_github_error(gone, 404, "Not Found")
    assert_github_error(gh("GET", f"/orgs/{ORG}/invitations/nope/teams"), 404, "Not Found")


def test_invitation_by_invitee_id_makes_pending_team_memberships(gh, sandbox_control):
    team = make_team(gh, "g1")
    user = gh("GET", "/users/grace").json()
    sent = invite(gh, invitee_id=user["id"], team_ids=[team["id"]])
    assert sent.status_code == 201 and sent.json()["login"] == "grace"
    membership = gh("GET", f"/orgs/{ORG}/teams/g1/memberships/grace").json()
    assert membership["state"] == "pending"
    sandbox_control.accept_github_invitation(ORG, login="grace")
    assert gh("GET", f"/orgs/{ORG}/teams/g1/memberships/grace").json()["state"] == "active"
    # now a member: inviting again is refused
    assert_github_error(invite(gh, invitee_id=user["id"]), 422, "Validation Failed")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "a@b.example", "invitee_id": 5},
        {"email": "not-an-email"},
        {"email": "a@b.example", "team_ids": [424242]},
        {"email": "a@b.example", "role": "god"},
        {"invitee_id": 123456789},
        {"email": 5},
    ],
)
def test_bad_invitations_are_422_and_send_nothing(gh, sandbox_control, body):
    answer = invite(gh, **body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["message"]
    assert people(sandbox_control)["invitations_sent"] == 0


def test_invitation_limit_is_50_per_24_hours_on_a_new_free_org(free_gh, sandbox_control):
    for number in range(50):
        assert invite(free_gh, email=f"s{number}@uni.example").status_code == 201
    refused = invite(free_gh, email="s50@uni.example")
    assert_github_error(refused, 422, "Validation Failed")
    assert refused.json()["errors"][0]["message"] == "Over invitation limit"
    # team memberships that invite count too
    make_team(free_gh, "g1")
    by_team = free_gh("PUT", f"/orgs/{ORG}/teams/g1/memberships/late", json={})
    assert by_team.status_code == 422
    sandbox_control.advance_github_clock(DAY - 60)
    assert invite(free_gh, email="s50@uni.example").status_code == 422
    sandbox_control.advance_github_clock(61)
    assert invite(free_gh, email="s50@uni.example").status_code == 201


def test_team_plan_allows_500_invitations(gh):
    for number in range(51):
        assert invite(gh, email=f"s{number}@uni.example").status_code == 201


def test_invitations_expire_after_7_days(gh, sandbox_control):
    make_team(gh, "g1")
    invite(gh, email="a@uni.example")
    gh("PUT", f"/orgs/{ORG}/teams/g1/memberships/ada", json={})
    sandbox_control.advance_github_clock(7 * DAY + 1)
    assert gh("GET", f"/orgs/{ORG}/invitations").json() == []
    assert gh("GET", f"/orgs/{ORG}/teams/g1/memberships/ada").status_code == 404


def test_control_endpoints_refuse_bad_input(gh, sandbox):
    control = f"{sandbox.url}/_sandbox"
    for method, path, body in (
        ("POST", "/github/clock", {"seconds": -1}),
        ("POST", "/github/clock", {"seconds": "soon"}),
        ("POST", f"/github/orgs/{ORG}/accept", {}),
        ("POST", f"/github/orgs/{ORG}/accept", {"whom": "x"}),
    ):
        answer = requests.request(method, control + path, json=body, timeout=5)
        assert answer.status_code == 400, (path, answer.text)
    missing = requests.post(f"{control}/github/orgs/{ORG}/accept", json={"login": "x"}, timeout=5)
    assert missing.status_code == 404
    assert (
        requests.post(f"{control}/github/orgs/nope/accept", json={"login": "x"}).status_code == 404
    )


def test_people_need_an_owner(sandbox, sandbox_control):
    sandbox_control.create_org(ORG, plan="team", role="member")
    gh = GitHub(sandbox.github_api_url)
    assert gh("POST", f"/orgs/{ORG}/teams", json={"name": "x"}).status_code == 403
    assert invite(gh, email="a@uni.example").status_code == 403


# -- Discord: invites with roles, the guild's invites, a person accepting -------------------------
@pytest.fixture
def bot(sandbox):
    from tests.sandbox.test_discord_api import Bot

    return Bot(sandbox.discord_api_url)


def discord_setup(bot, sandbox_control, **guild_options: Any) -> tuple[str, str, str]:
    gid = sandbox_control.create_guild("Algorithms", **guild_options)["id"]
    channel = bot("POST", f"/guilds/{gid}/channels", json={"name": "group-1"}).json()["id"]
    role = bot("POST", f"/guilds/{gid}/roles", json={"name": "Group 1"}).json()["id"]
    return gid, channel, role


def test_group_invite_is_listed_for_the_guild_and_gives_its_role(bot, sandbox_control):
    gid, channel, role = discord_setup(bot, sandbox_control)
    other = bot("POST", f"/guilds/{gid}/channels", json={"name": "staff"}).json()["id"]
    body = {"max_age": 0, "max_uses": 0, "unique": True, "role_ids": [role]}
    invite = bot("POST", f"/channels/{channel}/invites", json=body).json()
    staff = bot("POST", f"/channels/{other}/invites", json={"max_age": 0, "unique": True}).json()
    listed = bot("GET", f"/guilds/{gid}/invites").json()
    assert {i["code"] for i in listed} == {invite["code"], staff["code"]}
    group = next(i for i in listed if i["code"] == invite["code"])
    assert group["channel"]["id"] == channel and [r["id"] for r in group["roles"]] == [role]
    assert group["max_age"] == 0 and group["max_uses"] == 0 and group["uses"] == 0

    joined = sandbox_control.accept_discord_invite(invite["code"], "ada")
    assert joined["guild_id"] == gid and joined["roles"] == [role]
    member = bot("GET", f"/guilds/{gid}/members/{joined['user_id']}").json()
    assert member["roles"] == [role] and member["user"]["username"] == "ada"
    # accepting again (the same person) keeps one membership, one role; the use is counted
    assert sandbox_control.accept_discord_invite(invite["code"], "ada")["roles"] == [role]
    listed = bot("GET", f"/guilds/{gid}/invites").json()
    assert next(i for i in listed if i["code"] == invite["code"])["uses"] == 2
    # the staff invite gives no role
    assert sandbox_control.accept_discord_invite(staff["code"], "bob")["roles"] == []


def test_used_up_invite_is_gone_and_unknown_codes_are_404(bot, sandbox_control, sandbox):
    _, channel, role = discord_setup(bot, sandbox_control)
    body = {"max_uses": 1, "unique": True, "role_ids": [role]}
    invite = bot("POST", f"/channels/{channel}/invites", json=body).json()
    sandbox_control.accept_discord_invite(invite["code"], "ada")
    control = f"{sandbox.url}/_sandbox/discord/invites"
    gone = requests.post(f"{control}/{invite['code']}/accept", json={"username": "bob"}, timeout=5)
    assert gone.status_code == 404 and gone.json()["message"]
    bad = requests.post(f"{control}/{invite['code']}/accept", json={"who": "x"}, timeout=5)
    assert bad.status_code == 400
    blank = requests.post(f"{control}/nope/accept", json={"username": " "}, timeout=5)
    assert blank.status_code == 400


def test_invite_roles_are_validated(bot, sandbox_control):
    from tests.sandbox.test_discord_api import assert_error, field_errors

    gid, channel, _ = discord_setup(bot, sandbox_control)
    path = f"/channels/{channel}/invites"
    unknown = {"role_ids": ["123456789012345678"]}
    assert field_errors(bot("POST", path, json=unknown), "role_ids", "0")
    assert field_errors(bot("POST", path, json={"role_ids": [gid]}), "role_ids", "0")  # @everyone
    assert field_errors(bot("POST", path, json={"max_age": -1}), "max_age")
    # the bot's own role is not below its highest role: 403 Missing Permissions
    bot_role = next(r for r in bot("GET", f"/guilds/{gid}/roles").json() if r["managed"])
    assert_error(bot("POST", path, json={"role_ids": [bot_role["id"]]}), 403, 50013)
    assert bot("GET", f"/guilds/{gid}/invites").json() == []


def test_guild_invites_need_manage_guild(bot, sandbox_control):
    from tests.sandbox.test_discord_api import assert_error

    gid = sandbox_control.create_guild("No manage guild", permissions=1 | 16 | (1 << 28) | 1024)[
        "id"
    ]
    assert_error(bot("GET", f"/guilds/{gid}/invites"), 403, 50013)
