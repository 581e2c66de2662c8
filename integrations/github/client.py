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
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from github import Auth, Github, GithubException, InputGitTreeElement

from integrations.errors import (
    ConflictError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
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
        )


class GitHubClient:
    provider = "github"

    def __init__(
        self,
        *,
        api_url: str,
        token: str,
        org: str,
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
        self.github = Github(
            auth=Auth.Token(token),
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
            key=f"github:{token_key(token)}",
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

        return call_repeating(
            translated,
            repeatable=repeatable,
            retries=self.safe_retries,
            delay=self.safe_retry_delay,
            sleep=self._sleep,
        )

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
    if status == 403 and "upgrade to github pro" in lowered:
        return PlanLimitError(f"{message}. {PLAN_LIMIT_HINT}", **kwargs)
    if status == 404:
        return NotFoundError(message, **kwargs)
    if status == 422 and "already exists" in str(exc.data).lower():
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
