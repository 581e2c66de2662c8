"""The sandbox's GitHub App endpoints (JWT, installations, short tokens) and org rulesets."""

from __future__ import annotations

import time

import jwt
import pytest
import requests
from github import Auth, GithubIntegration

from sandbox.server import RunningSandbox
from tests.integrations.github_app_keys import APP_ID, app_key_pair

TOKEN = "sandbox-github-token"


@pytest.fixture
def app(sandbox: RunningSandbox, sandbox_control) -> str:
    """The app configured with 2-second tokens; the org ``uni`` (team) and ``poor`` (free)."""
    _, public = app_key_pair()
    sandbox_control.create_org("uni", plan="team")
    sandbox_control.create_org("poor", plan="free")
    sandbox_control.configure(
        github={"app": {"id": APP_ID, "public_key": public, "token_lifetime": 2}}
    )
    return sandbox.github_api_url


def _jwt(app_id: int = APP_ID, *, expires_in: int = 300) -> str:
    private, _ = app_key_pair()
    now = int(time.time())
    claims = {"iat": now - 60, "exp": now + expires_in, "iss": str(app_id)}
    return jwt.encode(claims, private, algorithm="RS256")


def _bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def test_pygithub_finds_the_installation_and_gets_a_token_that_expires(app: str) -> None:
    private, _ = app_key_pair()
    integration = GithubIntegration(auth=Auth.AppAuth(APP_ID, private), base_url=app)
    installation = integration.get_org_installation("uni")
    grant = integration.get_access_token(installation.id)
    assert grant.token.startswith("ghs_")
    assert 0 < grant.expires_at.timestamp() - time.time() <= 2
    headers = {"Authorization": f"token {grant.token}"}
    assert requests.get(f"{app}/orgs/uni", headers=headers).status_code == 200
    time.sleep(2.2)
    expired = requests.get(f"{app}/orgs/uni", headers=headers)
    assert expired.status_code == 401 and expired.json()["message"] == "Bad credentials"


def test_a_jwt_of_another_key_or_app_or_expired_is_refused(app: str) -> None:
    wrong_app = requests.get(f"{app}/orgs/uni/installation", headers=_bearer(_jwt(APP_ID + 1)))
    assert wrong_app.status_code == 401
    expired = requests.get(f"{app}/orgs/uni/installation", headers=_bearer(_jwt(expires_in=-120)))
    assert expired.status_code == 401
    ok = requests.get(f"{app}/orgs/uni/installation", headers=_bearer(_jwt()))
    assert ok.status_code == 200 and ok.json()["account"]["login"] == "uni"


def test_a_jwt_cannot_call_the_rest_of_the_api(app: str) -> None:
    answer = requests.get(f"{app}/orgs/uni", headers=_bearer(_jwt()))
    assert answer.status_code == 403


def test_the_app_routes_want_a_jwt_not_a_token(app: str) -> None:
    answer = requests.get(
        f"{app}/orgs/uni/installation", headers={"Authorization": f"token {TOKEN}"}
    )
    assert answer.status_code == 401
    missing = requests.post(f"{app}/app/installations/1/access_tokens", headers=_bearer(_jwt()))
    assert missing.status_code == 404


def test_each_installation_has_its_own_limits(app: str, sandbox_control) -> None:
    sandbox_control.configure(github={"primary_limit": 3})
    tokens = {}
    for org in ("uni", "poor"):
        installation = requests.get(
            f"{app}/orgs/{org}/installation", headers=_bearer(_jwt())
        ).json()["id"]
        tokens[org] = requests.post(
            f"{app}/app/installations/{installation}/access_tokens", headers=_bearer(_jwt())
        ).json()["token"]
    for _ in range(3):
        assert requests.get(
            f"{app}/orgs/uni", headers={"Authorization": f"token {tokens['uni']}"}
        ).ok
    spent = requests.get(f"{app}/orgs/uni", headers={"Authorization": f"token {tokens['uni']}"})
    assert spent.status_code == 403 and "rate limit" in spent.json()["message"]
    other = requests.get(f"{app}/orgs/poor", headers={"Authorization": f"token {tokens['poor']}"})
    assert other.status_code == 200 and other.headers["x-ratelimit-used"] == "1"


def test_bad_app_options_are_refused(sandbox: RunningSandbox) -> None:
    answer = requests.patch(
        f"{sandbox.url}/_sandbox/config", json={"github": {"app": {"id": 1, "public_key": "x"}}}
    )
    assert answer.status_code == 400


RULESET = {
    "name": "course-provisioning 2026-fall",
    "target": "branch",
    "enforcement": "active",
    "conditions": {
        "ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []},
        "repository_name": {"include": ["2026-fall-*"], "exclude": []},
    },
    "rules": [{"type": "non_fast_forward"}, {"type": "deletion"}],
}
HEADERS = {"Authorization": f"token {TOKEN}"}


def test_rulesets_are_made_listed_read_and_updated(app: str) -> None:
    made = requests.post(f"{app}/orgs/uni/rulesets", json=RULESET, headers=HEADERS)
    assert made.status_code == 201
    ruleset = made.json()
    assert ruleset["source_type"] == "Organization" and ruleset["rules"] == RULESET["rules"]
    again = requests.post(f"{app}/orgs/uni/rulesets", json=RULESET, headers=HEADERS)
    assert again.status_code == 422 and "unique" in again.json()["message"]
    listed = requests.get(f"{app}/orgs/uni/rulesets", headers=HEADERS).json()
    assert [r["name"] for r in listed] == [RULESET["name"]]
    url = f"{app}/orgs/uni/rulesets/{ruleset['id']}"
    assert requests.get(url, headers=HEADERS).json()["conditions"] == RULESET["conditions"]
    updated = requests.put(url, json={"enforcement": "disabled"}, headers=HEADERS)
    assert updated.status_code == 200 and updated.json()["enforcement"] == "disabled"


def test_free_plan_refuses_rulesets_like_github(app: str) -> None:
    answer = requests.post(f"{app}/orgs/poor/rulesets", json=RULESET, headers=HEADERS)
    assert answer.status_code == 403
    assert answer.json()["message"] == "Upgrade to GitHub Team to enable this feature."


def test_a_malformed_ruleset_is_422(app: str) -> None:
    bad = {**RULESET, "rules": [{"type": "teleport"}]}
    assert requests.post(f"{app}/orgs/uni/rulesets", json=bad, headers=HEADERS).status_code == 422
    nameless = {k: v for k, v in RULESET.items() if k != "name"}
    answer = requests.post(f"{app}/orgs/uni/rulesets", json=nameless, headers=HEADERS)
    assert answer.status_code == 422


def test_an_active_ruleset_refuses_force_push_and_deletion_of_matching_repos_only(
    app: str,
) -> None:
    requests.post(f"{app}/orgs/uni/rulesets", json=RULESET, headers=HEADERS)
    for name in ("2026-fall-algo", "2027-spring-algo"):
        requests.post(
            f"{app}/orgs/uni/repos", json={"name": name, "auto_init": True}, headers=HEADERS
        )
        base = f"{app}/repos/uni/{name}/git"
        head = requests.get(f"{base}/ref/heads/main", headers=HEADERS).json()["object"]["sha"]
        tree = requests.get(f"{base}/commits/{head}", headers=HEADERS).json()["tree"]["sha"]
        orphan = requests.post(
            f"{base}/commits", json={"message": "x", "tree": tree, "parents": []}, headers=HEADERS
        ).json()["sha"]
        forced = requests.patch(
            f"{base}/refs/heads/main", json={"sha": orphan, "force": True}, headers=HEADERS
        )
        deleted = requests.delete(f"{base}/refs/heads/main", headers=HEADERS)
        if name.startswith("2026-fall"):
            assert forced.status_code == 422 and "Cannot force-push" in forced.json()["message"]
            assert deleted.status_code == 422 and "Cannot delete" in deleted.json()["message"]
        else:
            assert forced.status_code == 200
            assert deleted.status_code == 204
