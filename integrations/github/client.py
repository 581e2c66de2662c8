"""GitHub client on PyGithub: repositories, one-commit seeding, branch protection.

PyGithub's sleeping retry is turned off (``retry=None``): a worker must not sleep for minutes
inside a request. Rate-limit answers become :class:`RateLimitedError` carrying GitHub's
``retry-after`` (or the primary limit's reset), and the runner re-schedules the step.

Every HTTP request PyGithub actually sends is audited: PyGithub has no per-instance hook, so this
client gives its own ``Github`` instance a connection class that records each exchange (see
:mod:`integrations.github.audited`). Calls are kept to the minimum the steps need, because GitHub
allows only ~80 content-creating requests a minute and 500 an hour per token.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from github import Auth, Github, GithubException, InputGitTreeElement

from integrations.errors import (
    ConflictError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from integrations.github.app import InstallationTokenAuth
from integrations.github.audited import install_audit
from integrations.github.limits import GitHubLimits
from integrations.ratelimit import LimitStore, Window, limit_store, token_key
from integrations.transport import (
    Endpoint,
    call_repeating,
    connection_error,
    parse_reset_after,
    parse_retry_after,
)

T = TypeVar("T")

PLAN_LIMIT_HINT = (
    "GitHub refuses branch protection on private repositories of organizations on the Free plan. "
    "Upgrade the organization to GitHub Team (free for verified educators through GitHub "
    "Education), or set PROVISIONING_SKIP_UNAVAILABLE_PROTECTION=true to skip protection."
)


class PlanLimitError(PermanentError):
    """The organization's plan does not offer the feature (branch protection on private repos)."""


INVITATION_WINDOW = 24 * 3600.0


class InvitationLimitError(RateLimitedError):
    """GitHub refused an organization invitation: at most 50 in 24 hours (500 for organizations
    older than a month or on a paid plan), team memberships that invite included. GitHub does
    not say when room comes back, so ``retry_after`` is the whole window; the roster sync keeps
    its own per-organization budget so that it never gets here."""


@dataclass(frozen=True)
class TeamInfo:
    id: int
    slug: str
    name: str
    description: str = ""

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> TeamInfo:
        return cls(
            id=raw["id"],
            slug=raw["slug"],
            name=raw["name"],
            description=raw.get("description") or "",
        )


@dataclass(frozen=True)
class TeamMembership:
    """``state`` is ``pending`` (an organization invitation not yet accepted) or ``active``."""

    username: str
    role: str
    state: str


@dataclass(frozen=True)
class OrgInvitation:
    id: int
    login: str | None
    email: str | None
    role: str
    created_at: str
    team_count: int

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> OrgInvitation:
        return cls(
            id=raw["id"],
            login=raw.get("login"),
            email=raw.get("email"),
            role=raw.get("role") or "direct_member",
            created_at=raw.get("created_at") or "",
            team_count=int(raw.get("team_count") or 0),
        )


def team_slug(name: str) -> str:
    """The slug GitHub derives from a team name (lower-cased, other characters become ``-``)."""
    return re.sub(r"[^a-z0-9_]+", "-", name.lower()).strip("-")


@dataclass(frozen=True)
class RepoInfo:
    id: int
    name: str
    full_name: str
    html_url: str
    description: str
    default_branch: str
    private: bool
    archived: bool = False

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> RepoInfo:
        return cls(
            id=raw["id"],
            name=raw["name"],
            full_name=raw["full_name"],
            html_url=raw["html_url"],
            description=raw.get("description") or "",
            default_branch=raw.get("default_branch") or "main",
            private=bool(raw.get("private")),
            archived=bool(raw.get("archived")),
        )


class GitHubClient:
    provider = "github"

    def __init__(
        self,
        *,
        api_url: str,
        token: str = "",
        org: str,
        auth: Auth.Auth | None = None,
        limit_key: str | None = None,
        timeout: float = 30.0,
        seconds_between_writes: float = 1.0,
        safe_retries: int = 2,
        safe_retry_delay: float = 0.5,
        write_budget: Sequence[Window] = ((70, 60.0), (450, 3600.0)),
        max_wait: float = 60.0,
        store: LimitStore | None = None,
        on_wait: Callable[[], None] | None = None,
    ) -> None:
        self.org = org
        self._org_id: int | None = None  # read once, when a route by id needs it
        self.api_url = api_url.rstrip("/")
        self.endpoint = Endpoint("GitHub", self.api_url, "GITHUB_API_URL")
        self.safe_retries = safe_retries
        self.safe_retry_delay = safe_retry_delay
        self.on_wait = on_wait or (lambda: None)  # before every sleep: the runner's heartbeat
        # A GitHub App installation's auth (integrations.github.app) or a token.
        self.auth = auth or Auth.Token(token)
        self.github = Github(
            auth=self.auth,
            base_url=api_url.rstrip("/"),
            timeout=int(timeout),
            retry=None,
            # Pacing is ours, shared by every worker (GitHubLimits), not PyGithub's per instance.
            seconds_between_requests=None,
            seconds_between_writes=None,
            # Objects are built without a request; only the calls we make reach GitHub. (Never
            # pass ``lazy=`` to a getter: it copies the requester, and the copy is not audited.)
            lazy=True,
        )
        limits = GitHubLimits(
            store=store or limit_store(),
            key=limit_key or f"github:{token_key(token)}",
            write_windows=write_budget,
            write_spacing=seconds_between_writes,
            max_wait=max_wait,
            on_wait=self.on_wait,
        )
        install_audit(self.github, limits)

    # -- repositories -------------------------------------------------------------------------
    def create_repo(self, name: str, *, description: str) -> RepoInfo:
        """Create a private repository with a first commit (so the git API works on it).

        Not repeated after a transient failure: the repository may exist by then, and the step
        handler looks for it before creating again.
        """
        organization = self.github.get_organization(self.org)  # lazy: no request
        repo = self._call(
            f"create repository {self.org}/{name}",
            lambda: organization.create_repo(
                name, description=description, private=True, auto_init=True, has_wiki=False
            ),
            repeatable=False,
        )
        return RepoInfo.from_raw(repo.raw_data)

    def get_repo(self, name: str) -> RepoInfo:
        raw = self._call(
            f"read repository {self.org}/{name}",
            # Our instance is lazy: reading raw_data makes the one GET.
            lambda: self.github.get_repo(f"{self.org}/{name}").raw_data,
        )
        return RepoInfo.from_raw(raw)

    # -- seeding ------------------------------------------------------------------------------
    def commit_files(
        self, name: str, *, branch: str, files: dict[str, str], message: str
    ) -> str | None:
        """Put ``files`` on ``branch`` in one commit; return its sha, or None when already there.

        Trees are content-addressed, so when the tree built on the head's tree has the head's
        sha, the files are already there and no commit is made (idempotent, and no wasted write).
        Every call here is safe to repeat: a tree or commit object made twice is the same or a
        harmless orphan, and moving the branch to where it already is changes nothing.
        """
        what = f"seed {self.org}/{name}"
        repo = self.github.get_repo(f"{self.org}/{name}")  # lazy: no request
        ref = self._call(what, lambda: repo.get_git_ref(f"heads/{branch}"))
        head = self._call(what, lambda: repo.get_git_commit(ref.object.sha))
        elements = [
            InputGitTreeElement(path, "100644", "blob", content=content)
            for path, content in sorted(files.items())
        ]
        tree = self._call(what, lambda: repo.create_git_tree(elements, base_tree=head.tree))
        if tree.sha == head.tree.sha:
            return None
        commit = self._call(what, lambda: repo.create_git_commit(message, tree, [head]))
        self._call(what, lambda: ref.edit(commit.sha, force=False))
        return commit.sha

    # -- protection ---------------------------------------------------------------------------
    def protect_branch(self, name: str, *, branch: str) -> dict[str, Any]:
        """Require a pull request with one approval; block force pushes and deletions.

        One PUT replaces the whole setting, so sending it again is harmless.
        """
        payload = {
            "required_status_checks": None,
            "enforce_admins": False,
            "required_pull_request_reviews": {
                "required_approving_review_count": 1,
                "dismiss_stale_reviews": False,
                "require_code_owner_reviews": False,
            },
            "restrictions": None,
            "allow_force_pushes": False,
            "allow_deletions": False,
        }
        url = f"/repos/{self.org}/{name}/branches/{branch}/protection"
        _, data = self._call(
            f"protect {self.org}/{name}@{branch}",
            lambda: self.github.requester.requestJsonAndCheck("PUT", url, input=payload),
        )
        return data

    # -- operations: archive, unarchive, rename, tear down, verify ---------------------------
    # A write to a renamed repository's old name is answered 307 by GitHub (PyGithub follows
    # only 301s, and a 307 would pass for success): ``_send`` repeats it verbatim at the new
    # place, as GitHub's docs ask. Deleting is idempotent for the caller: a repository already
    # gone answers False from ``delete_repo_if_present``, so a run that crashed between the
    # delete and its record succeeds on the retry.
    def get_repo_by_id(self, repo_id: int) -> RepoInfo:
        """The repository with this id wherever it is now (renamed by hand included): one GET of
        ``/repositories/{id}``, where GitHub's rename redirects point. NotFoundError when gone."""
        return RepoInfo.from_raw(
            self._send(f"read repository #{repo_id}", "GET", f"/repositories/{int(repo_id)}")
        )

    def rename_repo(self, name: str, new_name: str, *, description: str | None = None) -> RepoInfo:
        """Rename (and optionally re-describe) a repository in one PATCH; GitHub then redirects
        the old name. Sent again after a crash it finds the repository through that redirect and
        changes nothing. A new name taken by another repository is a ConflictError (422)."""
        body: dict[str, Any] = {"name": new_name}
        if description is not None:
            body["description"] = description
        what = f"rename repository {self.org}/{name} to {new_name}"
        return RepoInfo.from_raw(self._send(what, "PATCH", self._repo_url(name), body))

    def set_archived(self, name: str, archived: bool) -> RepoInfo:
        """Archive (read-only for everyone: pushes, contents, protection...) or unarchive.

        Setting the state the repository already has is harmless. Should GitHub refuse to archive
        an archived repository ("archived so is read-only"), that is the state wanted: read back.
        """
        what = f"{'archive' if archived else 'unarchive'} repository {self.org}/{name}"
        try:
            raw = self._send(what, "PATCH", self._repo_url(name), {"archived": archived})
        except PermanentError as exc:
            if not (archived and exc.status == 403 and "archived" in exc.message.lower()):
                raise
            return self.get_repo(name)
        return RepoInfo.from_raw(raw)

    def set_private(self, name: str, private: bool = True) -> RepoInfo:
        """Make a repository private again (repair of one made public by hand), one PATCH."""
        what = f"make repository {self.org}/{name} {'private' if private else 'public'}"
        return RepoInfo.from_raw(
            self._send(what, "PATCH", self._repo_url(name), {"private": private})
        )

    def delete_repo(self, name: str) -> None:
        """Delete a repository (the token needs admin rights on it: 403 otherwise). An archived
        repository can be deleted. NotFoundError when there is none of that name."""
        self._send(f"delete repository {self.org}/{name}", "DELETE", self._repo_url(name))

    def delete_repo_if_present(self, name: str, *, repo_id: int | None = None) -> bool:
        """Delete a repository; False when it was already gone.

        With ``repo_id`` (the id recorded when it was made) the repository is first read by id,
        one GET, and deleted under its current name: one renamed by hand is still found, and a
        look-alike that took the recorded name is never touched.
        """
        try:
            if repo_id is not None:
                current = self.get_repo_by_id(repo_id)
                if current.full_name.split("/", 1)[0].lower() != self.org.lower():
                    raise PermanentError(
                        f"GitHub: repository #{repo_id} now belongs to {current.full_name}, "
                        f"outside {self.org}: not deleted",
                        provider="github",
                    )
                name = current.name
            self.delete_repo(name)
        except NotFoundError:
            return False
        return True

    def get_protection(self, name: str, *, branch: str) -> dict[str, Any] | None:
        """The branch's protection as GitHub shows it (one GET), or None when not protected.

        A missing branch or repository is still NotFoundError, and a Free plan PlanLimitError:
        only GitHub's "Branch not protected" means None. :func:`protection_differences` compares
        the answer with what :meth:`protect_branch` sets.
        """
        url = f"{self._repo_url(name)}/branches/{quote(branch, safe='')}/protection"
        try:
            return self._send(f"read protection of {self.org}/{name}@{branch}", "GET", url)
        except NotFoundError as exc:
            if "not protected" in exc.message.lower():
                return None
            raise

    def _repo_url(self, name: str) -> str:
        return f"/repos/{self.org}/{quote(name, safe='')}"

    def _send(
        self,
        what: str,
        verb: str,
        url: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        repeatable: bool = True,
    ) -> Any:
        """One call through PyGithub's requester (audited), typed errors out, the parsed JSON
        (None for an empty answer) back. Every call sent here sets absolute values or reads, so
        it is repeated after a transient failure."""
        requester = self.github.requester

        def once() -> Any:
            status, answer, output = requester.requestJson(verb, url, input=body, headers=headers)
            location = answer.get("location")
            if status in (307, 308) and location:
                status, answer, output = requester.requestJson(
                    verb, location, input=body, headers=headers
                )
            data = _parsed(output)
            if status >= 400:
                raise requester.createException(status, answer, data)
            return data

        return self._call(what, once, repeatable=repeatable)

    # -- organization rulesets (GITHUB_PROTECTION_MODE=ruleset) -------------------------------
    def find_org_ruleset(self, name: str) -> dict[str, Any] | None:
        """The organization's ruleset named ``name`` (a summary: id, name), or None."""
        url = f"/orgs/{self.org}/rulesets"
        _, data = self._call(
            f"read rulesets of {self.org}",
            lambda: self.github.requester.requestJsonAndCheck(
                "GET", url, parameters={"per_page": 100}
            ),
        )
        return next((item for item in data or [] if item.get("name") == name), None)

    def create_org_ruleset(self, name: str, *, repository_pattern: str) -> dict[str, Any]:
        """One ruleset protecting the default branch of every repository matching the pattern,
        present and future: a pull request with one approval, no force push, no deletion.

        Not repeated after a transient failure (a POST): the caller looks it up by name first.
        """
        payload = {
            "name": name,
            "target": "branch",
            "enforcement": "active",
            "conditions": {
                "ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []},
                "repository_name": {"include": [repository_pattern], "exclude": []},
            },
            "rules": [
                {
                    "type": "pull_request",
                    "parameters": {
                        "required_approving_review_count": 1,
                        "dismiss_stale_reviews_on_push": False,
                        "require_code_owner_review": False,
                        "require_last_push_approval": False,
                        "required_review_thread_resolution": False,
                    },
                },
                {"type": "non_fast_forward"},
                {"type": "deletion"},
            ],
        }
        url = f"/orgs/{self.org}/rulesets"
        _, data = self._call(
            f"create ruleset {name} in {self.org}",
            lambda: self.github.requester.requestJsonAndCheck("POST", url, input=payload),
            repeatable=False,
        )
        return data

    # -- people: teams, memberships, organization invitations (the roster sync) ---------------
    # Costs and crash recovery per call: docs/people-platform.md. PUT and DELETE set absolute
    # state, so they are repeated after a transient failure; a POST is not (look first).
    def get_team(self, slug: str) -> TeamInfo | None:
        """The team with this slug, or None (1 read)."""
        try:
            data = self._send(f"read team {slug}", "GET", self._team_url(slug))
        except NotFoundError:
            return None
        return TeamInfo.from_raw(data)

    def get_team_by_id(self, team_id: int) -> TeamInfo | None:
        """The team with this id under whatever slug it has now, or None when it is gone (404).

        Renaming a team changes its slug, not its id: this finds one renamed by hand, where
        :meth:`get_team` answers None. ``GET /organizations/{org_id}/team/{team_id}`` is the
        route by id GitHub documents today (beside "Get a team by name"; every team's ``url``
        points at it); the legacy ``GET /teams/{id}`` behind PyGithub's
        ``Organization.get_team`` is deprecated. 1 read, plus ``GET /orgs/{org}`` (1 read) for
        the organization's id the first time this client needs it: an organization we cannot
        see raises (NotFoundError) rather than passing for a team gone.
        """
        org_id = self._organization_id()
        try:
            data = self._send(
                f"read team #{team_id} of {self.org}",
                "GET",
                f"/organizations/{org_id}/team/{int(team_id)}",
            )
        except NotFoundError:
            return None
        return TeamInfo.from_raw(data)

    def ensure_team(self, name: str, *, description: str = "") -> TeamInfo:
        """The team named ``name``, created (closed) when missing: idempotent, 1 read and at
        most 1 write. A team created meanwhile by someone else (422 "must be unique") is read."""
        found = self.get_team(team_slug(name))
        if found is not None:
            return found
        payload = {"name": name, "description": description, "privacy": "closed"}
        try:
            data = self._send(
                f"create team {name} in {self.org}",
                "POST",
                f"/orgs/{self.org}/teams",
                payload,
                repeatable=False,
            )
        except ConflictError:
            found = self.get_team(team_slug(name))
            if found is None:
                raise
            return found
        return TeamInfo.from_raw(data)

    def delete_team_if_present(self, slug: str) -> bool:
        """Delete a team (its repository grants and memberships go with it): 1 write; False when
        it was already gone. Repeated after a transient failure (a DELETE is absolute).

        A slug is a name, not an identity: a team deleted by hand and made again by someone else
        has the same one. Read it with :meth:`get_team` and compare its ``id`` with the one
        recorded first, as the tear down does (``provisioning.handlers.teardown``)."""
        try:
            self._send(f"delete team {slug} of {self.org}", "DELETE", self._team_url(slug))
        except NotFoundError:
            return False
        return True

    def grant_team_repo(self, slug: str, repo: str, *, permission: str) -> None:
        """Give the team ``permission`` (pull, triage, push, maintain, admin) on the repository:
        1 write, idempotent (an absolute value)."""
        self._send(
            f"grant {permission} on {repo} to team {slug}",
            "PUT",
            f"{self._team_url(slug)}/repos/{self.org}/{quote(repo, safe='')}",
            {"permission": permission},
        )

    def get_team_repo_permission(self, slug: str, repo: str) -> str | None:
        """The team's permission on the repository (``role_name``), None without access
        (1 read): read it first and a re-sync sends no write."""
        url = f"{self._team_url(slug)}/repos/{self.org}/{quote(repo, safe='')}"
        try:
            data = self._send(
                f"read permission of team {slug} on {repo}",
                "GET",
                url,
                headers={"Accept": "application/vnd.github.v3.repository+json"},
            )
        except NotFoundError:
            return None
        return (data or {}).get("role_name")

    def set_team_membership(
        self, slug: str, username: str, *, role: str = "member"
    ) -> TeamMembership:
        """Add ``username`` to the team (``member`` or ``maintainer``): 1 write. Someone outside
        the organization is invited by it (``state: pending``; it counts as an organization
        invitation). Idempotent: repeating it sends no second invitation."""
        data = self._send(
            f"add {username} to team {slug}",
            "PUT",
            self._membership_url(slug, username),
            {"role": role},
        )
        return TeamMembership(username=username, role=data["role"], state=data["state"])

    def get_team_membership(self, slug: str, username: str) -> TeamMembership | None:
        """``pending`` / ``active`` membership, or None (1 read)."""
        try:
            data = self._send(
                f"read membership of {username} in team {slug}",
                "GET",
                self._membership_url(slug, username),
            )
        except NotFoundError:
            return None
        return TeamMembership(username=username, role=data["role"], state=data["state"])

    def remove_team_membership(self, slug: str, username: str) -> bool:
        """Take ``username`` off the team (1 write); False when they were not on it (already
        removed: not a failure)."""
        try:
            self._send(
                f"remove {username} from team {slug}",
                "DELETE",
                self._membership_url(slug, username),
            )
        except NotFoundError:
            return False
        return True

    def invite_to_org(
        self,
        *,
        email: str | None = None,
        invitee_id: int | None = None,
        team_ids: Sequence[int] = (),
        role: str = "direct_member",
    ) -> OrgInvitation:
        """Invite a person by email (or GitHub user id) into the organization and its teams:
        1 write, 1 of the organization's invitations per 24 hours.

        NOT repeated after a transient failure: the invitation may have been sent. Before
        sending again, read :meth:`list_org_invitations` and look for the email / login.
        Over the 24-hour limit: :class:`InvitationLimitError`.
        """
        if (email is None) == (invitee_id is None):
            raise ValueError("invite_to_org needs exactly one of email and invitee_id")
        payload: dict[str, Any] = {"role": role, "team_ids": list(team_ids)}
        if email is not None:
            payload["email"] = email
        else:
            payload["invitee_id"] = invitee_id
        data = self._send(
            f"invite {email or invitee_id} to {self.org}",
            "POST",
            f"/orgs/{self.org}/invitations",
            payload,
            repeatable=False,
        )
        return OrgInvitation.from_raw(data)

    def list_org_invitations(self) -> list[OrgInvitation]:
        """Every pending invitation of the organization (1 read per 100)."""
        found: list[OrgInvitation] = []
        page = 1
        while True:
            data = self._send(
                f"read invitations of {self.org} (page {page})",
                "GET",
                f"/orgs/{self.org}/invitations?per_page=100&page={page}",
            )
            found.extend(OrgInvitation.from_raw(item) for item in data or [])
            if len(data or []) < 100:
                return found
            page += 1

    def invitation_team_ids(self, invitation_id: int) -> list[int] | None:
        """The ids of the teams a pending invitation carries (1 read per 100 teams), or None
        when it is no longer pending (404: accepted, expired or cancelled). Repeated after a
        transient failure. An invitation matched by email alone may be another course's: this
        tells whether it carries ours (skip it when ``team_count`` is 0)."""
        found: list[int] = []
        page = 1
        while True:
            try:
                data = self._send(
                    f"read teams of invitation {invitation_id} of {self.org} (page {page})",
                    "GET",
                    f"/orgs/{self.org}/invitations/{invitation_id}/teams?per_page=100&page={page}",
                )
            except NotFoundError:
                return None
            found.extend(int(team["id"]) for team in data or [])
            if len(data or []) < 100:
                return found
            page += 1

    def cancel_org_invitation(self, invitation_id: int) -> bool:
        """Cancel a pending invitation (1 write); False when it is gone already (accepted,
        expired or cancelled: not a failure)."""
        try:
            self._send(
                f"cancel invitation {invitation_id} of {self.org}",
                "DELETE",
                f"/orgs/{self.org}/invitations/{invitation_id}",
            )
        except NotFoundError:
            return False
        return True

    def is_org_member(self, username: str) -> bool:
        """Whether ``username`` is a member of the organization (1 read): GitHub answers 204 for
        a member and 404 for someone who is not (or no such user). A requester outside the
        organization gets 302 to the public-membership check instead (never our owner token or
        installation): 204 is a member, 404 or 302 "not known to be a member", which costs at
        most an invitation we would have sent anyway. Any other failure (403: the token lost its
        rights) is raised as for every call, as the sync's other reads would. Repeated after a
        transient failure."""
        requester = self.github.requester
        url = f"/orgs/{self.org}/members/{quote(username, safe='')}"

        def once() -> int:
            # A 302 comes back as it is: requestJson follows none unless told to.
            status, answer, output = requester.requestJson("GET", url)
            if status >= 400 and status != 404:
                raise requester.createException(status, answer, _parsed(output))
            return status

        return self._call(f"read membership of {username} in {self.org}", once) == 204

    def _organization_id(self) -> int:
        """The organization's id (it never changes, a renamed organization included)."""
        if self._org_id is None:
            self._org_id = int(self.get_org()["id"])
        return self._org_id

    def _team_url(self, slug: str) -> str:
        return f"/orgs/{self.org}/teams/{quote(slug, safe='')}"

    def _membership_url(self, slug: str, username: str) -> str:
        return f"{self._team_url(slug)}/memberships/{quote(username, safe='')}"

    # -- the token and the organization (manage.py preflight) --------------------------------
    def get_authenticated_user(self) -> dict[str, Any]:
        """The token's account (``GET /user``): a 401 here means the token is not valid."""
        return self._get("read the token's user", "/user")

    def get_org_membership(self) -> dict[str, Any]:
        """The token's membership of the organization: ``state`` and ``role`` (``admin``)."""
        return self._get(f"read membership of {self.org}", f"/user/memberships/orgs/{self.org}")

    def get_org(self) -> dict[str, Any]:
        """The organization; its ``plan`` is shown to owners only."""
        return self._get(f"read organization {self.org}", f"/orgs/{self.org}")

    def _get(self, what: str, url: str) -> dict[str, Any]:
        _, data = self._call(what, lambda: self.github.requester.requestJsonAndCheck("GET", url))
        return data

    # -- errors -------------------------------------------------------------------------------
    def _call(self, what: str, call: Callable[[], T], *, repeatable: bool = True) -> T:
        """Make one PyGithub call, typed errors out; repeat it after a transient failure if safe."""

        def translated() -> T:
            with self._translated(what):
                return call()

        def repeating() -> T:
            return call_repeating(
                translated,
                repeatable=repeatable,
                retries=self.safe_retries,
                delay=self.safe_retry_delay,
                sleep=self._sleep,
            )

        try:
            return repeating()
        except PermanentError as exc:
            # An installation token can expire between our renewal check and GitHub's: a 401
            # changed nothing, so renew the token and send the call once more.
            if exc.status != 401 or not isinstance(self.auth, InstallationTokenAuth):
                raise
            self.auth.invalidate()
            return repeating()

    def _sleep(self, seconds: float) -> None:
        self.on_wait()
        time.sleep(seconds)

    # -- errors -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        """Turn PyGithub's and requests' exceptions into our typed errors."""
        try:
            yield
        except GithubException as exc:
            raise _classify(exc, what) from exc
        except requests.RequestException as exc:
            raise connection_error(exc, self.endpoint, what=f"GitHub: {what}") from exc


# What protect_branch sets, as GET .../protection shows it: (path in the answer, value).
# ``None`` means the key is absent (GitHub leaves out unset checks and restrictions).
PROTECTION_EXPECTED: tuple[tuple[tuple[str, ...], Any], ...] = (
    (("required_pull_request_reviews", "required_approving_review_count"), 1),
    (("required_pull_request_reviews", "dismiss_stale_reviews"), False),
    (("required_pull_request_reviews", "require_code_owner_reviews"), False),
    (("enforce_admins", "enabled"), False),
    (("allow_force_pushes", "enabled"), False),
    (("allow_deletions", "enabled"), False),
    (("required_status_checks",), None),
    (("restrictions",), None),
)


def protection_differences(current: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """How a branch's protection (from :meth:`GitHubClient.get_protection`) differs from what
    :meth:`GitHubClient.protect_branch` sets: ``{"a.b": {"expected": x, "actual": y}}``, empty
    when it matches; an unprotected branch differs in ``protection`` itself."""
    if current is None:
        return {"protection": {"expected": "protected", "actual": None}}
    found: dict[str, dict[str, Any]] = {}
    for path, expected in PROTECTION_EXPECTED:
        actual: Any = current
        for key in path:
            actual = actual.get(key) if isinstance(actual, dict) else None
        if expected is None:
            actual = None if actual is None else "set"
        if actual != expected:
            found[".".join(path)] = {"expected": expected, "actual": actual}
    return found


def _parsed(output: Any) -> Any:
    if not output:
        return None
    try:
        return json.loads(output)
    except (TypeError, ValueError):
        return {"message": str(output)[:500]}


def _classify(exc: GithubException, what: str) -> Exception:
    status = exc.status
    data = exc.data if isinstance(exc.data, dict) else {}
    detail = str(data.get("message") or exc.data or "")
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    kwargs: dict[str, Any] = {"provider": "github", "status": status}
    message = f"GitHub: {what} answered {status}: {detail}"
    retry_after = _retry_after_seconds(headers)
    lowered = detail.lower()
    if status in (403, 429) and (retry_after is not None or "rate limit" in lowered):
        return RateLimitedError(message, retry_after=retry_after or 60.0, **kwargs)
    if status >= 500:
        return TransientError(message, **kwargs)
    if status == 401:
        return PermanentError(
            "GitHub rejected the token (401 Bad credentials): set GITHUB_TOKEN to a valid token "
            "with admin rights on the organization.",
            **kwargs,
        )
    if status == 403 and (
        "upgrade to github pro" in lowered or "upgrade to github team" in lowered
    ):
        return PlanLimitError(f"{message}. {PLAN_LIMIT_HINT}", **kwargs)
    if status == 404:
        return NotFoundError(message, **kwargs)
    if status == 422 and "over invitation limit" in str(exc.data).lower():
        return InvitationLimitError(
            f"{message} (over invitation limit): GitHub allows 50 organization invitations "
            "per 24 hours (500 for organizations older than a month or on a paid plan)",
            retry_after=INVITATION_WINDOW,
            **kwargs,
        )
    if status == 422 and any(
        text in str(exc.data).lower() for text in ("already exists", "must be unique")
    ):
        return ConflictError(message, **kwargs)
    return PermanentError(message, **kwargs)


def _retry_after_seconds(headers: dict[str, str]) -> float | None:
    """The secondary limit's ``retry-after``, else the primary limit's reset; a minute when the
    header is unreadable, None when GitHub said nothing about waiting."""
    try:
        seconds = parse_retry_after(headers, minimum=1.0)
        return parse_reset_after(headers, minimum=1.0) if seconds is None else seconds
    except ValueError:
        return 60.0
