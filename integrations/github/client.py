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

    def _send(self, what: str, verb: str, url: str, body: Any = None) -> Any:
        """One call through PyGithub's requester (audited), typed errors out, the parsed JSON
        (None for an empty answer) back. Every call sent here sets absolute values or reads, so
        it is repeated after a transient failure."""
        requester = self.github.requester

        def once() -> Any:
            status, headers, output = requester.requestJson(verb, url, input=body)
            location = headers.get("location")
            if status in (307, 308) and location:
                status, headers, output = requester.requestJson(verb, location, input=body)
            data = _parsed(output)
            if status >= 400:
                raise requester.createException(status, headers, data)
            return data

        return self._call(what, once)

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
