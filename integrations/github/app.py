"""Authenticating as a GitHub App installation, one per organization, tokens refreshed early.

An IT department installs the platform's GitHub App on each organization instead of lending a
person's token. The app signs a short JWT with its private key (``GITHUB_APP_ID``,
``GITHUB_APP_PRIVATE_KEY`` or ``GITHUB_APP_PRIVATE_KEY_FILE``), finds the organization's
installation (``GET /orgs/{org}/installation``) and trades the JWT for an installation token
(``POST /app/installations/{id}/access_tokens``) that lasts an hour.

PyGithub's ``AppInstallationAuth`` refreshes 20 s before expiry, a margin fixed for hour-long
tokens; ours is a quarter of the token's life, at most five minutes, so a token made short-lived
(the sandbox's tests) is renewed in time as well. A process keeps one token per (app,
organization) across step attempts: a step does not buy a token of its own. Each installation
has its own rate limits on GitHub, so its limit key names the organization
(:func:`installation_limit_key`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from github import Auth, Github, GithubException, GithubIntegration

from integrations.errors import PermanentError
from integrations.github.audited import install_audit

MAX_REFRESH_MARGIN = 300.0  # renew an hour-long token five minutes before it ends


@dataclass(frozen=True)
class AppCredentials:
    app_id: str
    private_key: str


def installation_limit_key(app_id: str, org: str) -> str:
    """Budgets belong to the installation, that is to the (app, organization) pair."""
    return f"github:app:{app_id}:org:{org.lower()}"


@dataclass
class InstallationTokenAuth(Auth.Auth):
    """PyGithub ``Auth`` whose token is the organization's installation token, renewed early."""

    credentials: AppCredentials
    org: str
    api_url: str
    timeout: int = 30
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _token: str | None = field(default=None, repr=False)
    _renew_at: float = 0.0
    installation_id: int | None = None
    refreshes: int = 0

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        with self._lock:
            if self._token is None or time.time() >= self._renew_at:
                self._refresh()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        """Forget the token (GitHub refused it): the next request gets a new one."""
        with self._lock:
            self._token = None

    def _refresh(self) -> None:
        integration = GithubIntegration(
            auth=Auth.AppAuth(self.credentials.app_id, self.credentials.private_key),
            base_url=self.api_url,
            timeout=self.timeout,
            retry=None,
        )
        # Audited like every other request (the JWT never reaches the log: tokens are scrubbed).
        requester = integration._GithubIntegration__requester  # type: ignore[attr-defined]
        install_audit(cast(Github, _HasRequester(requester)))
        if self.installation_id is None:
            try:
                self.installation_id = integration.get_org_installation(self.org).id
            except GithubException as exc:
                if exc.status != 404:
                    raise
                raise PermanentError(
                    f"The GitHub App {self.credentials.app_id} (GITHUB_APP_ID) is not installed on "
                    f"the organization {self.org}: install it there (Organization settings -> "
                    "GitHub Apps), or give the course another organization.",
                    provider="github",
                    status=404,
                ) from exc
        fetched = time.time()
        grant = integration.get_access_token(self.installation_id)
        expires = _epoch(grant.expires_at)
        life = max(0.0, expires - fetched)
        self._token = grant.token
        self._renew_at = expires - min(MAX_REFRESH_MARGIN, life / 4)
        self.refreshes += 1


@dataclass
class _HasRequester:
    requester: Any


def _epoch(value: datetime) -> float:
    return value.timestamp()


_auths: dict[tuple[str, str, str], InstallationTokenAuth] = {}
_auths_lock = threading.Lock()


def installation_auth(
    *, credentials: AppCredentials, org: str, api_url: str, timeout: int = 30
) -> InstallationTokenAuth:
    """The process's auth for this organization's installation (one token shared by steps)."""
    key = (api_url.rstrip("/"), credentials.app_id, org.lower())
    with _auths_lock:
        auth = _auths.get(key)
        if auth is None or auth.credentials != credentials:
            auth = InstallationTokenAuth(
                credentials=credentials, org=org, api_url=api_url.rstrip("/"), timeout=timeout
            )
            _auths[key] = auth
        return auth


def installation_auths_clear() -> None:
    """Forget every cached token (tests, and a sandbox reset that invalidates them)."""
    with _auths_lock:
        _auths.clear()
