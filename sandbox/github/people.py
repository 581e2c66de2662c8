"""People: teams, team repository permissions, team memberships and organization invitations.

- ``POST/GET /orgs/{org}/teams``, ``GET/DELETE /orgs/{org}/teams/{team_slug}`` (the slug is
  derived from the name; a second team of the same name is 422 "Name must be unique for this
  org"; a deleted team takes its repository grants and memberships with it).
- ``GET /organizations/{org_id}/team/{team_id}``: the same team by its ids, whatever its slug is
  now (a team renamed by hand changes slug, not id); GitHub documents this route beside "Get a
  team by name", and every team's ``url`` points at it. 404 once the team is gone.
- ``PUT/GET /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}`` ``{permission}``.
- ``PUT/GET/DELETE /orgs/{org}/teams/{team_slug}/memberships/{username}``: someone outside the
  organization gets an organization invitation and ``state: "pending"`` until they accept
  (control API), ``"active"`` after; a user who blocked the organization answers 422.
- ``POST/GET /orgs/{org}/invitations``, ``DELETE /orgs/{org}/invitations/{invitation_id}``,
  ``GET /orgs/{org}/invitations/{invitation_id}/teams`` (the teams it carries; 404 once it is no
  longer pending).
- ``GET /orgs/{org}/members/{username}``: 204 for a member of the organization, 404 for anyone
  else; a requester outside the organization (or anonymous) gets 302 to the public-membership
  check, as on GitHub.
- ``GET /users/{username}``: every well-formed login exists (the sandbox does not model users).

The invitation limit: 50 invitations per 24 hours (500 on the Team plan, standing for "older
than a month or paid"), team memberships that invite included. Beyond it the invitation is
refused with 422 "Validation Failed" and the error message "Over invitation limit". The window
runs on the sandbox clock, which the control API can move forward (``advance_clock``);
invitations expire after 7 days of that clock.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.github import render
from sandbox.github.common import api_base, find_repo, paginate
from sandbox.github.errors import (
    body_object,
    check_type,
    fail,
    require_keys,
    validation_failed,
)
from sandbox.github.model import ORG_LOGIN_RE, Org, now_iso
from sandbox.http import Request, Response

if TYPE_CHECKING:
    from sandbox.github.platform import FakeGitHub

DOCS_TEAMS = "https://docs.github.com/rest/teams/teams"
DOCS_TEAM_MEMBERS = "https://docs.github.com/rest/teams/members"
DOCS_INVITATIONS = "https://docs.github.com/rest/orgs/members"
DOCS_ORG_MEMBERS = DOCS_INVITATIONS + "#check-organization-membership-for-a-user"
DOCS_USERS = "https://docs.github.com/rest/users/users"
DAY = 24 * 3600
INVITATION_LIFETIME = 7 * DAY
INVITATION_LIMITS = {"free": 50, "team": 500}
OVER_LIMIT = "Over invitation limit"
REPO_PERMISSIONS = ("pull", "triage", "push", "maintain", "admin")
TEAM_ROLES = ("member", "maintainer")
ORG_ROLES = ("admin", "direct_member", "billing_manager")
PRIVACIES = ("secret", "closed")


@dataclass
class Team:
    id: int
    name: str
    slug: str
    description: str | None
    privacy: str
    repos: dict[int, str] = field(default_factory=dict)  # repository id -> permission
    memberships: dict[str, dict[str, str]] = field(default_factory=dict)  # lower login -> m.


@dataclass
class Invitation:
    id: int
    login: str | None
    email: str | None
    role: str
    team_ids: list[int]
    created_at: str
    sent_at: float  # on the sandbox clock


def now(gh: FakeGitHub) -> float:
    """The sandbox clock: wall time plus what the control API advanced it by."""
    return time.time() + gh.state.clock_offset


def register(gh: FakeGitHub) -> None:
    gh.route("GET", "/users/{username}", get_user)
    gh.route("GET", "/orgs/{org}/teams", list_teams)
    gh.route("POST", "/orgs/{org}/teams", create_team)
    gh.route("GET", "/orgs/{org}/teams/{team_slug}", get_team)
    gh.route("DELETE", "/orgs/{org}/teams/{team_slug}", delete_team)
    gh.route("GET", "/organizations/{org_id}/team/{team_id}", get_team_by_id)
    gh.route("PUT", "/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}", put_team_repo)
    gh.route("GET", "/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}", get_team_repo)
    gh.route("PUT", "/orgs/{org}/teams/{team_slug}/memberships/{username}", put_membership)
    gh.route("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", get_membership)
    gh.route("DELETE", "/orgs/{org}/teams/{team_slug}/memberships/{username}", delete_membership)
    gh.route("GET", "/orgs/{org}/invitations", list_invitations)
    gh.route("POST", "/orgs/{org}/invitations", create_invitation)
    gh.route("DELETE", "/orgs/{org}/invitations/{invitation_id}", delete_invitation)
    gh.route("GET", "/orgs/{org}/invitations/{invitation_id}/teams", list_invitation_teams)
    gh.route("GET", "/orgs/{org}/members/{username}", check_member)


# -- lookups ------------------------------------------------------------------------------------
def _admin_org(gh: FakeGitHub, request: Request, docs: str) -> Org:
    return _visible_org(gh, request, gh.state.org(request.params["org"]), docs)


def _admin_org_by_id(gh: FakeGitHub, request: Request, docs: str) -> Org:
    """The organization of an ``/organizations/{org_id}/...`` route: its id, not its login."""
    org_id = request.params["org_id"]
    org = next((o for o in gh.state.orgs.values() if str(o.id) == org_id), None)
    return _visible_org(gh, request, org, docs)


def _visible_org(gh: FakeGitHub, request: Request, org: Org | None, docs: str) -> Org:
    if org is None or gh.anonymous_request or org.role == "none":
        fail(404, "Not Found", docs)
    if request.method != "GET" and org.role != "admin":
        fail(403, "You must be an organization owner to manage people.", docs)
    return org


def _team(org: Org, slug: str, docs: str) -> Team:
    team = org.teams.get(slug.lower())
    if team is None:
        fail(404, "Not Found", docs)
    return team


def user_id(login: str) -> int:
    from sandbox.github.platform import USER_ID, USER_LOGIN

    return USER_ID if login.lower() == USER_LOGIN else render.fake_user_id(login)


def _team_by_id(org: Org, team_id: str, docs: str) -> Team:
    team = next((t for t in org.teams.values() if str(t.id) == team_id), None)
    if team is None:
        fail(404, "Not Found", docs)
    return team


def _check_login(login: str, docs: str) -> None:
    if not ORG_LOGIN_RE.match(login):
        fail(404, "Not Found", docs)


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "-", name.lower()).strip("-")


def _expire(gh: FakeGitHub, org: Org) -> None:
    """Invitations expire after 7 days (GitHub lists them as failed; here they are dropped)."""
    cutoff = now(gh) - INVITATION_LIFETIME
    for invitation in [i for i in org.invitations.values() if i.sent_at < cutoff]:
        _drop_invitation(org, invitation)


def _drop_invitation(org: Org, invitation: Invitation) -> None:
    del org.invitations[invitation.id]
    if invitation.login:
        for team in org.teams.values():
            membership = team.memberships.get(invitation.login.lower())
            if membership and membership["state"] == "pending":
                del team.memberships[invitation.login.lower()]


def _pending_for(org: Org, login: str) -> Invitation | None:
    return next(
        (i for i in org.invitations.values() if (i.login or "").lower() == login.lower()), None
    )


def invitation_limit(org: Org) -> int:
    return INVITATION_LIMITS.get(org.plan, INVITATION_LIMITS["free"])


def _spend_invitation(gh: FakeGitHub, org: Org, docs: str) -> None:
    """Count one invitation against the 24-hour limit, or refuse it as GitHub does."""
    current = now(gh)
    org.invitation_times = [t for t in org.invitation_times if t > current - DAY]
    if len(org.invitation_times) >= invitation_limit(org):
        validation_failed(
            [
                {
                    "resource": "OrganizationInvitation",
                    "code": "custom",
                    "field": "data",
                    "message": OVER_LIMIT,
                }
            ],
            docs,
        )
    org.invitation_times.append(current)


def _new_invitation(
    gh: FakeGitHub,
    org: Org,
    *,
    login: str | None,
    email: str | None,
    role: str,
    team_ids: list[int],
    docs: str,
) -> Invitation:
    _spend_invitation(gh, org, docs)
    invitation = Invitation(
        id=gh.state.next_id("invitation"),
        login=login,
        email=email,
        role=role,
        team_ids=team_ids,
        created_at=now_iso(),
        sent_at=now(gh),
    )
    org.invitations[invitation.id] = invitation
    return invitation


# -- rendering ------------------------------------------------------------------------------------
def _team_json(api: str, org: Org, team: Team) -> dict[str, Any]:
    data = render.team(api, org, team.slug)
    data.update(id=team.id, name=team.name, description=team.description, privacy=team.privacy)
    data["url"] = f"{api}/organizations/{org.id}/team/{team.id}"
    return data


def _membership_json(api: str, org: Org, team: Team, membership: dict[str, str]) -> dict[str, Any]:
    return {
        "url": f"{api}/organizations/{org.id}/team/{team.id}/memberships/{membership['login']}",
        "role": membership["role"],
        "state": membership["state"],
    }


def _invitation_json(api: str, org: Org, invitation: Invitation) -> dict[str, Any]:
    from sandbox.github.platform import USER_ID, USER_LOGIN

    return {
        "id": invitation.id,
        "node_id": render.node_id("OrganizationInvitation", invitation.id),
        "login": invitation.login,
        "email": invitation.email,
        "role": invitation.role,
        "created_at": invitation.created_at,
        "failed_at": None,
        "failed_reason": None,
        "inviter": render.user(api, USER_LOGIN, USER_ID),
        "team_count": len(invitation.team_ids),
        "invitation_teams_url": f"{api}/organizations/{org.id}/invitations/{invitation.id}/teams",
        "invitation_source": "member",
    }


# -- users and teams ----------------------------------------------------------------------------
def get_user(gh: FakeGitHub, request: Request) -> Response:
    login = request.params["username"]
    _check_login(login, DOCS_USERS)
    gh.state.users[user_id(login)] = login
    return Response(200, render.user(api_base(request), login, user_id(login)))


def list_teams(gh: FakeGitHub, request: Request) -> Response:
    org = _admin_org(gh, request, DOCS_TEAMS)
    api = api_base(request)
    return paginate(request, [_team_json(api, org, team) for team in org.teams.values()])


def get_team(gh: FakeGitHub, request: Request) -> Response:
    org = _admin_org(gh, request, DOCS_TEAMS)
    team = _team(org, request.params["team_slug"], DOCS_TEAMS)
    return Response(200, _team_json(api_base(request), org, team))


def get_team_by_id(gh: FakeGitHub, request: Request) -> Response:
    """The team by its organization's id and its own, under whatever slug it has now: the same
    answer as by slug."""
    org = _admin_org_by_id(gh, request, DOCS_TEAMS)
    team = _team_by_id(org, request.params["team_id"], DOCS_TEAMS)
    return Response(200, _team_json(api_base(request), org, team))


def create_team(gh: FakeGitHub, request: Request) -> Response:
    org = _admin_org(gh, request, DOCS_TEAMS)
    body = body_object(request)
    require_keys(body, ["name"], DOCS_TEAMS)
    check_type(body, "name", str, docs=DOCS_TEAMS)
    check_type(body, "description", str, nullable=True, docs=DOCS_TEAMS)
    slug = slugify(body["name"])
    if not slug:
        fail(422, "Validation Failed: name can't be blank", DOCS_TEAMS)
    privacy = body.get("privacy", "secret")
    if privacy not in PRIVACIES:
        fail(422, f"Invalid property /privacy: {privacy!r} is not a possible value", DOCS_TEAMS)
    if slug in org.teams:
        validation_failed(
            [
                {
                    "resource": "Team",
                    "code": "custom",
                    "field": "name",
                    "message": "Name must be unique for this org",
                }
            ],
            DOCS_TEAMS,
        )
    team = Team(gh.state.next_id("team"), body["name"], slug, body.get("description"), privacy)
    org.teams[slug] = team
    return Response(201, _team_json(api_base(request), org, team))


def delete_team(gh: FakeGitHub, request: Request) -> Response:
    """Delete a team: its repository grants and memberships go with it; a pending member's
    invitation loses the team (and is cancelled when no team is left on it), as when the member
    is removed (``delete_membership``)."""
    org = _admin_org(gh, request, DOCS_TEAMS)
    team = _team(org, request.params["team_slug"], DOCS_TEAMS)
    del org.teams[team.slug]
    for membership in team.memberships.values():
        invitation = _pending_for(org, membership["login"])
        if membership["state"] == "pending" and invitation is not None:
            if team.id in invitation.team_ids:
                invitation.team_ids.remove(team.id)
            if not invitation.team_ids:
                _drop_invitation(org, invitation)
    for invitation in org.invitations.values():
        if team.id in invitation.team_ids:
            invitation.team_ids.remove(team.id)
    return Response(204)


def _team_repo(gh: FakeGitHub, request: Request) -> tuple[Org, Team, Any]:
    org = _admin_org(gh, request, DOCS_TEAMS)
    team = _team(org, request.params["team_slug"], DOCS_TEAMS)
    repo = find_repo(gh, request, DOCS_TEAMS)
    if repo.org is not org:
        fail(
            422,
            "Validation Failed: the repository must belong to the team's organization",
            DOCS_TEAMS,
        )
    return org, team, repo


def put_team_repo(gh: FakeGitHub, request: Request) -> Response:
    _, team, repo = _team_repo(gh, request)
    body = body_object(request)
    permission = body.get("permission", "push")
    if permission not in REPO_PERMISSIONS:
        fail(
            422,
            f"Validation Failed: permission {permission!r} is not one of "
            f"{', '.join(REPO_PERMISSIONS)}",
            DOCS_TEAMS,
        )
    team.repos[repo.id] = permission
    return Response(204)


def get_team_repo(gh: FakeGitHub, request: Request) -> Response:
    """The repository with the team's ``role_name`` (GitHub's repository media type), or 404."""
    _, team, repo = _team_repo(gh, request)
    if repo.id not in team.repos:
        fail(404, "Not Found", DOCS_TEAMS)
    data = render.repository(api_base(request), repo)
    data["role_name"] = team.repos[repo.id]
    return Response(200, data)


# -- team memberships ---------------------------------------------------------------------------
def put_membership(gh: FakeGitHub, request: Request) -> Response:
    org = _admin_org(gh, request, DOCS_TEAM_MEMBERS)
    team = _team(org, request.params["team_slug"], DOCS_TEAM_MEMBERS)
    login = request.params["username"]
    _check_login(login, DOCS_TEAM_MEMBERS)
    gh.state.users[user_id(login)] = login
    body = body_object(request)
    role = body.get("role", "member")
    if role not in TEAM_ROLES:
        fail(
            422,
            f"Validation Failed: role {role!r} is not one of member, maintainer",
            DOCS_TEAM_MEMBERS,
        )
    if login.lower() in org.blocked_by:
        validation_failed(
            [
                {
                    "resource": "TeamMember",
                    "code": "unprocessable",
                    "field": "data",
                    "message": "This user cannot be invited to the organization.",
                }
            ],
            DOCS_TEAM_MEMBERS,
        )
    _expire(gh, org)
    key = login.lower()
    membership = team.memberships.get(key)
    if membership is None:
        state = "active" if key in org.members else "pending"
        if state == "pending":
            invitation = _pending_for(org, login)
            if invitation is None:  # someone outside the organization: this invites them
                invitation = _new_invitation(
                    gh,
                    org,
                    login=login,
                    email=None,
                    role="direct_member",
                    team_ids=[],
                    docs=DOCS_TEAM_MEMBERS,
                )
            if team.id not in invitation.team_ids:
                invitation.team_ids.append(team.id)
        membership = {"login": login, "role": role, "state": state}
        team.memberships[key] = membership
    membership["role"] = role
    return Response(200, _membership_json(api_base(request), org, team, membership))


def get_membership(gh: FakeGitHub, request: Request) -> Response:
    org = _admin_org(gh, request, DOCS_TEAM_MEMBERS)
    _expire(gh, org)
    team = _team(org, request.params["team_slug"], DOCS_TEAM_MEMBERS)
    membership = team.memberships.get(request.params["username"].lower())
    if membership is None:
        fail(404, "Not Found", DOCS_TEAM_MEMBERS)
    return Response(200, _membership_json(api_base(request), org, team, membership))


def delete_membership(gh: FakeGitHub, request: Request) -> Response:
    """Remove a member from the team; a pending one's invitation loses the team (and is
    cancelled when no team is left on it)."""
    org = _admin_org(gh, request, DOCS_TEAM_MEMBERS)
    team = _team(org, request.params["team_slug"], DOCS_TEAM_MEMBERS)
    login = request.params["username"]
    membership = team.memberships.pop(login.lower(), None)
    if membership is None:
        fail(404, "Not Found", DOCS_TEAM_MEMBERS)
    invitation = _pending_for(org, login)
    if membership["state"] == "pending" and invitation is not None:
        if team.id in invitation.team_ids:
            invitation.team_ids.remove(team.id)
        if not invitation.team_ids:
            _drop_invitation(org, invitation)
    return Response(204)


# -- organization invitations -------------------------------------------------------------------
def list_invitations(gh: FakeGitHub, request: Request) -> Response:
    org = _admin_org(gh, request, DOCS_INVITATIONS)
    _expire(gh, org)
    api = api_base(request)
    items = [
        _invitation_json(api, org, i) for i in sorted(org.invitations.values(), key=lambda i: i.id)
    ]
    return paginate(request, items)


def create_invitation(gh: FakeGitHub, request: Request) -> Response:
    org = _admin_org(gh, request, DOCS_INVITATIONS)
    body = body_object(request)
    check_type(body, "email", str, docs=DOCS_INVITATIONS)
    check_type(body, "invitee_id", int, docs=DOCS_INVITATIONS)
    check_type(body, "team_ids", list, docs=DOCS_INVITATIONS)
    email, invitee_id = body.get("email"), body.get("invitee_id")
    if (email is None) == (invitee_id is None):
        fail(422, "Validation Failed: give exactly one of invitee_id and email", DOCS_INVITATIONS)
    if email is not None and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
        validation_failed(
            [{"resource": "OrganizationInvitation", "code": "invalid", "field": "email"}],
            DOCS_INVITATIONS,
        )
    role = body.get("role", "direct_member")
    if role not in ORG_ROLES:
        fail(
            422,
            f"Validation Failed: role {role!r} is not one of {', '.join(ORG_ROLES)}",
            DOCS_INVITATIONS,
        )
    team_ids = body.get("team_ids", [])
    known = {team.id: team for team in org.teams.values()}
    if not all(isinstance(t, int) and t in known for t in team_ids):
        validation_failed(
            [{"resource": "OrganizationInvitation", "code": "invalid", "field": "team_ids"}],
            DOCS_INVITATIONS,
        )
    login = None
    if invitee_id is not None:
        login = _login_of(gh, org, invitee_id)
        if login is None:
            validation_failed(
                [{"resource": "OrganizationInvitation", "code": "invalid", "field": "invitee_id"}],
                DOCS_INVITATIONS,
            )
        if login.lower() in org.members:
            validation_failed(
                [
                    {
                        "resource": "OrganizationInvitation",
                        "code": "unprocessable",
                        "field": "data",
                        "message": "Invitee is already a part of this organization",
                    }
                ],
                DOCS_INVITATIONS,
            )
    _expire(gh, org)
    for other in org.invitations.values():
        same = (login and (other.login or "").lower() == login.lower()) or (
            email and (other.email or "").lower() == email.lower()
        )
        if same:
            validation_failed(
                [
                    {
                        "resource": "OrganizationInvitation",
                        "code": "unprocessable",
                        "field": "data",
                        "message": "Invitee has already been invited",
                    }
                ],
                DOCS_INVITATIONS,
            )
    invitation = _new_invitation(
        gh,
        org,
        login=login,
        email=email,
        role=role,
        team_ids=list(team_ids),
        docs=DOCS_INVITATIONS,
    )
    if login is not None:
        for team_id in team_ids:
            known[team_id].memberships[login.lower()] = {
                "login": login,
                "role": "member",
                "state": "pending",
            }
    return Response(201, _invitation_json(api_base(request), org, invitation))


def _pending_invitation(gh: FakeGitHub, request: Request) -> tuple[Org, Invitation]:
    """The organization and its pending invitation ``{invitation_id}``: 404 for an unknown,
    accepted, expired or cancelled one."""
    org = _admin_org(gh, request, DOCS_INVITATIONS)
    _expire(gh, org)
    try:
        return org, org.invitations[int(request.params["invitation_id"])]
    except (KeyError, ValueError):
        fail(404, "Not Found", DOCS_INVITATIONS)


def list_invitation_teams(gh: FakeGitHub, request: Request) -> Response:
    """The teams a pending invitation carries (a deleted team is taken off it as it goes); an
    unknown, accepted, expired or cancelled invitation is 404."""
    org, invitation = _pending_invitation(gh, request)
    api = api_base(request)
    by_id = {team.id: team for team in org.teams.values()}
    teams = [by_id[t] for t in invitation.team_ids if t in by_id]
    return paginate(request, [_team_json(api, org, team) for team in teams])


def _login_of(gh: FakeGitHub, org: Org, invitee_id: int) -> str | None:
    """Users are not modelled: an id is known once its login was seen (``GET /users/{login}``
    or a team membership)."""
    return gh.state.users.get(invitee_id)


def delete_invitation(gh: FakeGitHub, request: Request) -> Response:
    org, invitation = _pending_invitation(gh, request)
    _drop_invitation(org, invitation)
    return Response(204)


# -- organization membership --------------------------------------------------------------------
def check_member(gh: FakeGitHub, request: Request) -> Response:
    """204 (no body) for a member, 404 for anyone else, an unknown login included. GitHub
    redirects a requester who is not in the organization to the public-membership check."""
    org = gh.state.org(request.params["org"])
    if org is None:
        fail(404, "Not Found", DOCS_ORG_MEMBERS)
    login = request.params["username"]
    if gh.anonymous_request or org.role == "none":
        public = f"{api_base(request)}/orgs/{org.login}/public_members/{login}"
        return Response(302, None, {"location": public})
    if login.lower() not in org.members:
        fail(404, "User does not exist or is not a member of the organization", DOCS_ORG_MEMBERS)
    return Response(204)


# -- the control API: people acting on github.com -----------------------------------------------
def accept_invitation(
    gh: FakeGitHub, org_login: str, *, invitation_id: int | None = None, login: str | None = None
) -> dict[str, Any]:
    """A person accepts an invitation (by id; an email invitation needs the ``login`` of the
    account whose verified email matches) or, given only ``login``, their pending invitation."""
    org = _staff_org(gh, org_login)
    _expire(gh, org)
    if invitation_id is not None:
        invitation = org.invitations.get(int(invitation_id))
    elif login:
        invitation = _pending_for(org, login)
    else:
        raise ValueError("give invitation_id or login")
    if invitation is None:
        raise LookupError(f"no pending invitation in {org.login} for {invitation_id or login}")
    who = invitation.login or login
    if not who or not ORG_LOGIN_RE.match(who):
        raise ValueError("an email invitation is accepted by an account: give its login")
    del org.invitations[invitation.id]
    org.members.add(who.lower())
    for team in org.teams.values():
        membership = team.memberships.get(who.lower())
        if membership is not None:
            membership["state"] = "active"
        elif team.id in invitation.team_ids:
            team.memberships[who.lower()] = {"login": who, "role": "member", "state": "active"}
    return {"login": who, "organization": org.login, "state": "active"}


def block(gh: FakeGitHub, org_login: str, login: str) -> None:
    """A person blocks the organization: inviting them then answers 422."""
    _staff_org(gh, org_login).blocked_by.add(login.lower())


def add_member(gh: FakeGitHub, org_login: str, login: str) -> None:
    """A person is in the organization already (an earlier course invited them, or an owner
    added them): their team memberships answer ``active`` at once, with no invitation."""
    if not ORG_LOGIN_RE.match(login):
        raise ValueError(f"not a GitHub login: {login!r}")
    org = _staff_org(gh, org_login)
    org.members.add(login.lower())
    gh.state.users[user_id(login)] = login


def advance_clock(gh: FakeGitHub, seconds: Any) -> float:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise ValueError("seconds must be a non-negative number")
    gh.state.clock_offset += float(seconds)
    return gh.state.clock_offset


def _staff_org(gh: FakeGitHub, login: str) -> Org:
    org = gh.state.org(login)
    if org is None:
        raise LookupError(f"no organization {login}")
    return org


def snapshot(org: Org) -> dict[str, Any]:
    return {
        "teams": {
            team.slug: {
                "id": team.id,
                "name": team.name,
                "repos": dict(team.repos),
                "memberships": {m["login"]: m["state"] for m in team.memberships.values()},
            }
            for team in org.teams.values()
        },
        "members": sorted(org.members),
        "invitations": [
            {"id": i.id, "login": i.login, "email": i.email, "team_ids": i.team_ids}
            for i in org.invitations.values()
        ],
        "invitations_sent": len(org.invitation_times),
    }
