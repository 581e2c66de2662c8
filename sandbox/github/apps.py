"""A GitHub App: JWTs signed with its key, one installation per organization, short tokens.

Options (``{"github": {"app": {...}}}`` on ``POST /_sandbox/reset`` or ``PATCH /_sandbox/config``):
``{"id": N, "public_key": PEM, "token_lifetime": seconds}`` (lifetime default 3600, GitHub's
hour; tests make it a few seconds to show renewal). The app is installed on every organization;
the installation's id is ``100000 + the organization's id``.

- A JWT (``Authorization: Bearer <jwt>``, RS256, ``iss`` = the app id, not expired) may only call
  the app's own routes: ``GET /orgs/{org}/installation`` and
  ``POST /app/installations/{id}/access_tokens`` (201 ``{token, expires_at, ...}``).
- An installation token works like the classic token until ``expires_at``; then 401 "Bad
  credentials". Each installation has its own primary and secondary limits (``limits_for``).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import jwt

from sandbox.github.errors import fail
from sandbox.github.limits import PrimaryLimit, SecondaryLimit
from sandbox.http import Request, Response

if TYPE_CHECKING:
    from sandbox.github.platform import FakeGitHub

DOCS_APPS = "https://docs.github.com/rest/apps/apps"
INSTALLATION_BASE = 100000
DEFAULT_TOKEN_LIFETIME = 3600.0


@dataclass
class App:
    id: int
    public_key: str
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME
    tokens: dict[str, tuple[int, float]] = field(default_factory=dict)  # token -> (inst, expiry)
    limits: dict[int, tuple[PrimaryLimit, SecondaryLimit | None]] = field(default_factory=dict)
    tokens_issued: int = 0
    expired_refusals: int = 0


def parse_app(value: Any) -> App | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"id", "public_key", "token_lifetime"}:
        raise ValueError('app must be null or {"id": N, "public_key": PEM, "token_lifetime": s}')
    app_id, key = value.get("id"), value.get("public_key")
    lifetime = value.get("token_lifetime", DEFAULT_TOKEN_LIFETIME)
    if isinstance(app_id, bool) or not isinstance(app_id, int) or app_id < 1:
        raise ValueError("app.id must be a positive integer")
    if not isinstance(key, str) or "PUBLIC KEY" not in key:
        raise ValueError("app.public_key must be a PEM public key")
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
        raise ValueError("app.token_lifetime must be a positive number of seconds")
    return App(id=app_id, public_key=key, token_lifetime=float(lifetime))


def register(gh: FakeGitHub) -> None:
    gh.route("GET", "/orgs/{org}/installation", get_org_installation)
    gh.route("POST", "/app/installations/{installation_id}/access_tokens", create_token)


def jwt_valid(gh: FakeGitHub, credential: str) -> bool:
    app = gh.app
    if app is None:
        return False
    try:
        claims = jwt.decode(
            credential,
            app.public_key,
            algorithms=["RS256"],
            options={"require": ["iat", "exp", "iss"], "verify_iat": False},
            leeway=60,
        )
    except jwt.PyJWTError:
        return False
    return str(claims.get("iss")) == str(app.id)


def installation_of(gh: FakeGitHub, credential: str) -> int | None:
    """The installation whose live token this is; an expired one is counted and refused."""
    app = gh.app
    if app is None or credential not in app.tokens:
        return None
    installation, expires = app.tokens[credential]
    if time.time() >= expires:
        app.expired_refusals += 1
        return None
    return installation


def limits_for(gh: FakeGitHub, installation: int) -> tuple[PrimaryLimit, SecondaryLimit | None]:
    """Each installation's own budgets, set like the token's (``primary_limit``,
    ``secondary_limit``)."""
    assert gh.app is not None
    if installation not in gh.app.limits:
        secondary = None
        if gh.secondary is not None:
            secondary = SecondaryLimit(gh.secondary.requests, gh.secondary.window)
        gh.app.limits[installation] = (PrimaryLimit(gh.primary.limit), secondary)
    return gh.app.limits[installation]


def _require_jwt(gh: FakeGitHub) -> None:
    if not gh.app_jwt_request:
        fail(
            401,
            "A JSON web token could not be decoded",
            DOCS_APPS,
        )


def get_org_installation(gh: FakeGitHub, request: Request) -> Response:
    _require_jwt(gh)
    assert gh.app is not None
    org = gh.state.org(request.params["org"])
    if org is None:
        fail(
            404,
            "Not Found",
            f"{DOCS_APPS}#get-an-organization-installation-for-the-authenticated-app",
        )
    return Response(
        200,
        {
            "id": INSTALLATION_BASE + org.id,
            "app_id": gh.app.id,
            "target_type": "Organization",
            "target_id": org.id,
            "account": {"login": org.login, "id": org.id, "type": "Organization"},
            "repository_selection": "all",
            "permissions": {"administration": "write", "contents": "write"},
            "access_tokens_url": f"/app/installations/{INSTALLATION_BASE + org.id}/access_tokens",
        },
    )


def create_token(gh: FakeGitHub, request: Request) -> Response:
    _require_jwt(gh)
    app = gh.app
    assert app is not None
    try:
        installation = int(request.params["installation_id"])
    except ValueError:
        installation = -1
    if not any(INSTALLATION_BASE + org.id == installation for org in gh.state.orgs.values()):
        fail(404, "Not Found", f"{DOCS_APPS}#create-an-installation-access-token-for-an-app")
    token = "ghs_" + secrets.token_hex(18)
    expires = time.time() + app.token_lifetime
    app.tokens[token] = (installation, expires)
    app.tokens_issued += 1
    expires_at = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    # GitHub's expires_at has whole seconds: keep the token alive until the second it names.
    app.tokens[token] = (installation, float(int(expires)))
    return Response(
        201,
        {
            "token": token,
            "expires_at": expires_at,
            "permissions": {"administration": "write", "contents": "write"},
            "repository_selection": "all",
        },
    )


def is_app_route(path: str) -> bool:
    parts = path.strip("/").split("/")
    return parts[0] == "app" or (
        len(parts) == 3 and parts[0] == "orgs" and parts[2] == "installation"
    )
