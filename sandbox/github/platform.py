"""The fake GitHub platform: authentication, rate limits, errors, options and the state snapshot.

Endpoints live in ``repos``, ``protection``, ``git`` and ``contents``; each registers its
handlers on this platform's router. Handlers run under the sandbox's global lock.

Options (``reset(options)`` / ``configure(options)``, or ``{"github": {...}}`` on
``POST /_sandbox/reset`` and ``PATCH /_sandbox/config``):

- ``token``: the one valid token (default ``"sandbox-github-token"``).
- ``primary_limit``: requests per hour (default 5000).
- ``secondary_limit``: ``{"requests": N, "window": seconds}`` for content-creating requests
  (POST/PUT/PATCH/DELETE), or ``None`` (default) for no secondary limit.
- ``orgs``: ``[{"login": ..., "plan": "free" | "team"}]`` organizations to create (through
  ``configure``, an existing organization gets the plan given: staff upgrading to Team).
- ``app``: a GitHub App installed on every organization (``sandbox.github.apps``), or ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from sandbox.core import Platform
from sandbox.github.apps import App, installation_of, is_app_route, jwt_valid, limits_for, parse_app
from sandbox.github.errors import DOCS_RATE, DOCS_SECONDARY, error_response
from sandbox.github.limits import (
    PrimaryLimit,
    SecondaryLimit,
    clock,
    parse_primary,
    parse_secondary,
)
from sandbox.github.model import ORG_LOGIN_RE, REPO_NAME_RE, Repo, State
from sandbox.http import Request, Response

DEFAULT_TOKEN = "sandbox-github-token"
DEFAULT_PRIMARY_LIMIT = 5000
UNAUTHENTICATED_LIMIT = 60
USER_LOGIN = "sandbox-user"
USER_ID = 1  # "API rate limit exceeded for user ID 1."
OPTION_NAMES = ("token", "primary_limit", "secondary_limit", "orgs", "app")
UNCOUNTED_PATHS = ("/rate_limit",)  # GitHub does not charge for reading the limits

GitHubHandler = Callable[["FakeGitHub", Request], Response]


class FakeGitHub(Platform):
    """A GitHub REST API (v3) fake with organizations, repositories and a real git database."""

    name = "github"
    prefixes = ("/github/api/v3", "/github")

    # -- wiring ---------------------------------------------------------------------------------
    def register_routes(self) -> None:
        from sandbox.github import apps, contents, git, people, protection, repos, rulesets

        # protection first: "/branches/{branch:path}" would otherwise swallow ".../protection"
        for module in (protection, apps, rulesets, people, repos, git, contents):
            module.register(self)

    def route(self, method: str, template: str, handler: GitHubHandler) -> None:
        def bound(request: Request) -> Response:
            # Clients percent-encode path parts (PyGithub quotes file paths and branch names);
            # the router matched the raw path, so decode what it captured.
            request.params = {key: unquote(value) for key, value in request.params.items()}
            return handler(self, request)

        self.router.add(method, template, bound)

    def repo_route(self, method: str, suffix: str, handler: GitHubHandler) -> None:
        """Register under ``/repos/{owner}/{repo}`` and ``/repositories/{repo_id}`` (redirects)."""
        self.route(method, "/repos/{owner}/{repo}" + suffix, handler)
        self.route(method, "/repositories/{repo_id}" + suffix, handler)

    # -- options and state ------------------------------------------------------------------------
    def reset(self, options: dict[str, Any]) -> None:
        _check_option_names(options)
        self.state = State()
        self.token = DEFAULT_TOKEN
        self.primary = PrimaryLimit(DEFAULT_PRIMARY_LIMIT)
        self.anonymous = PrimaryLimit(UNAUTHENTICATED_LIMIT)
        self.secondary: SecondaryLimit | None = None
        self.app: App | None = None
        self._authenticated = False
        self._installation: int | None = None  # the installation whose token is being used
        self.app_jwt_request = False  # the request is the app itself (a JWT)
        self._request_number = 0
        self.configure(options)

    def configure(self, options: dict[str, Any]) -> None:
        _check_option_names(options)
        # Validate everything before changing anything, so a bad option changes nothing.
        token = options.get("token", self.token)
        if not isinstance(token, str) or not token:
            raise ValueError("token must be a non-empty string")
        limit = parse_primary(options["primary_limit"]) if "primary_limit" in options else None
        secondary = self.secondary
        if "secondary_limit" in options:
            secondary = parse_secondary(options["secondary_limit"])
        app = parse_app(options["app"]) if "app" in options else self.app
        orgs = options.get("orgs", [])
        if not isinstance(orgs, list) or not all(isinstance(org, dict) for org in orgs):
            raise ValueError('orgs must be a list of {"login": ..., "plan": ...}')
        for org in orgs:
            if set(org) - {"login", "plan"} or not ORG_LOGIN_RE.match(str(org.get("login"))):
                raise ValueError(f'invalid organization {org!r}: expected {{"login", "plan"}}')
            State.check_plan(org.get("plan", "team"))
        self.token = token
        if app is not self.app:
            self.app = app
        if limit is not None:
            self.primary.limit = limit
        self.secondary = secondary
        for org in orgs:
            existing = self.state.org(str(org.get("login", "")))
            if existing is None:
                self.staff_create_org(**org)
            else:
                # Changing the plan of an existing organization: staff upgrading to Team.
                existing.plan = self.state.check_plan(org.get("plan", existing.plan))

    def staff_create_org(
        self, login: str, plan: str = "team", role: str = "admin"
    ) -> dict[str, Any]:
        """Stand in for people creating an organization on GitHub (and choosing its plan).

        ``role`` is the token's place in it: ``admin`` (an owner, the default), ``member`` or
        ``none`` (not a member).
        """
        org = self.state.create_org(login, plan, role)
        return {
            "login": org.login,
            "id": org.id,
            "plan": org.plan,
            "role": org.role,
            "html_url": f"https://github.com/{org.login}",
        }

    # -- people changing things behind the app's back (drift) -----------------------------------
    def _staff_repo(self, owner: str, name: str) -> Repo:
        repo = self.state.repo(owner, name)
        if repo is None:
            raise LookupError(f"no repository {owner}/{name}")
        return repo

    def staff_edit_repo(
        self,
        owner: str,
        name: str,
        *,
        new_name: str | None = None,
        private: bool | None = None,
        archived: bool | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """A person renames a repository (the old name then redirects), changes its visibility,
        archives it or edits its description on github.com."""
        repo = self._staff_repo(owner, name)
        for key, value in (("private", private), ("archived", archived)):
            if value is not None and not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false")
        if new_name is not None and new_name != repo.name:
            if not isinstance(new_name, str) or not REPO_NAME_RE.match(new_name):
                raise ValueError(f"invalid repository name {new_name!r}")
            other = self.state.repo(owner, new_name)
            if other is not None and other is not repo:
                raise ValueError(f"{owner}/{new_name} already exists")
            self.state.rename_repo(repo, new_name)
        if private is not None:
            repo.private = private
        if archived is not None:
            repo.archived = archived
        if description is not None:
            repo.description = description or None
        repo.touch()
        return {"id": repo.id, "full_name": repo.full_name, "private": repo.private,
                "archived": repo.archived, "description": repo.description}  # fmt: skip

    def staff_delete_repo(self, owner: str, name: str) -> None:
        self.state.delete_repo(self._staff_repo(owner, name))

    def staff_remove_protection(self, owner: str, name: str, branch: str) -> None:
        """A person turns branch protection off (or loosens it away entirely)."""
        repo = self._staff_repo(owner, name)
        if repo.protections.pop(branch, None) is None:
            raise LookupError(f"{owner}/{name}@{branch} is not protected")

    def snapshot(self) -> dict[str, Any]:
        from sandbox.github.snapshot import snapshot

        return snapshot(self)

    # -- authentication, limits, errors -----------------------------------------------------------
    def authenticate(self, request: Request) -> Response | None:
        """The valid token passes; a wrong one is 401; none at all is GitHub's anonymous access.

        Like GitHub, a request without credentials may read public things (60 requests an
        hour); its writes answer 401 "Requires authentication" and private repositories 404.
        """
        self._request_number += 1
        self._authenticated = False
        self._installation = None
        self.app_jwt_request = False
        header = request.header("authorization").strip()
        if not header:
            return None
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        if scheme.lower() in ("token", "bearer") and credential == self.token:
            self._authenticated = True
            return None
        if scheme.lower() == "bearer" and jwt_valid(self, credential):
            self.app_jwt_request = True
            return None  # only the app's own routes accept it (before_dispatch)
        installation = installation_of(self, credential)
        if scheme.lower() in ("token", "bearer") and installation is not None:
            self._authenticated = True
            self._installation = installation
            return None
        self.anonymous.spend(clock())  # refused logins count against the caller's IP
        self.state.counters.unauthorized += 1
        return error_response(401, "Bad credentials")

    @property
    def anonymous_request(self) -> bool:
        """Whether the request being handled carries no credentials (handlers hide private data)."""
        return not self._authenticated

    def before_dispatch(self, request: Request) -> Response | None:
        now = clock()
        counters = self.state.counters
        counters.requests += 1
        if self.app_jwt_request:
            if is_app_route(request.path):
                return None  # the app's own calls are not charged to an installation
            return error_response(
                403, "Resource not accessible by integration (use an installation token)"
            )
        if not self._authenticated:
            if request.is_write:
                counters.unauthorized += 1
                return error_response(401, "Requires authentication")
            if self.anonymous.exhausted(now):
                counters.primary_limited += 1
                return error_response(
                    403,
                    "API rate limit exceeded for 127.0.0.1. (But here's the good news: "
                    "Authenticated requests get a higher rate limit. Check out the documentation "
                    "for more details.)",
                    DOCS_RATE,
                )
            self.anonymous.spend(now)
            return None
        if request.path.rstrip("/") in UNCOUNTED_PATHS:
            return None
        primary, secondary = self._limits()
        if primary.exhausted(now):
            counters.primary_limited += 1
            return error_response(
                403,
                f"API rate limit exceeded for user ID {USER_ID}. If you reach out to GitHub "
                f"Support for help, please include the request ID {self.request_id()}.",
                DOCS_RATE,
            )
        primary.spend(now)
        if request.is_write and secondary is not None:
            wait = secondary.retry_after(now)
            if wait is not None:
                counters.secondary_limited += 1
                return self._secondary_response(wait)
            secondary.record(now)
        if request.is_write:
            counters.writes += 1
        return None

    def after_dispatch(self, request: Request, response: Response) -> None:
        bucket = self._limits()[0] if self._authenticated else self.anonymous
        headers = bucket.headers(clock())
        headers["x-github-request-id"] = self.request_id()
        headers["x-github-api-version-selected"] = "2022-11-28"
        headers.setdefault("x-github-media-type", "github.v3; format=json")
        for key, value in headers.items():
            response.headers.setdefault(key, value)

    def _limits(self) -> tuple[PrimaryLimit, SecondaryLimit | None]:
        """The classic token's budgets, or the installation's own (GitHub: per installation)."""
        if self._installation is None:
            return self.primary, self.secondary
        return limits_for(self, self._installation)

    def error(self, status: int, message: str) -> Response:
        return error_response(status, message)

    def bad_json(self, request: Request, detail: str) -> Response:
        return error_response(400, "Problems parsing JSON")

    def too_many_requests(self, retry_after: float) -> Response:
        return self._secondary_response(max(1, math.ceil(retry_after)), status=429)

    def _secondary_response(self, wait: int, status: int = 403) -> Response:
        message = (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try "
            "again. If you reach out to GitHub Support for help, please include the request ID "
            f"{self.request_id()}."
        )
        return error_response(status, message, DOCS_SECONDARY, headers={"retry-after": str(wait)})

    def request_id(self) -> str:
        """GitHub-looking request ids (``XXXX:XXXX:XXXXXX:XXXXXXX:XXXXXXXX``), one per request."""
        number = self._request_number
        return f"5A4D:{number % 0xFFFF:04X}:{number:06X}:{number * 7:07X}:{number * 13:08X}"


def _check_option_names(options: dict[str, Any]) -> None:
    if not isinstance(options, dict):
        raise ValueError("github options must be an object")
    unknown = set(options) - set(OPTION_NAMES)
    if unknown:
        raise ValueError(
            f"unknown github options: {', '.join(sorted(unknown))} "
            f"(known: {', '.join(OPTION_NAMES)})"
        )
