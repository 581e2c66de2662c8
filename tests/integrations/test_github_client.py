"""Unit tests of the GitHub client: calls sent, error typing, no sleeping retry, audit rows.

HTTP is answered by ``responses``. ``time.sleep`` is replaced by a recorder for the whole test, so
a sleep anywhere (our backoff, PyGithub's retry or write spacing, urllib3) is seen, not slept.
"""

from __future__ import annotations

import json
import re
import time
from types import SimpleNamespace

import pytest
import requests
import responses
from github import Github

import integrations.github.audited as audited
import integrations.github.client as github_client
from audit.context import audit_scope
from integrations.errors import (
    ConflictError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from integrations.github.client import GitHubClient, PlanLimitError, RepoInfo
from tests.factories import CourseFactory
from tests.integrations.helpers import assert_secret_absent, audit_rows

API = "https://github.test/api/v3"
TOKEN = "secret-gh-token"
ORG = "uni"
REPO = "algo-2026-group-1"
HEAD_SHA = "1" * 40
HEAD_TREE = "2" * 40
NEW_TREE = "3" * 40
NEW_COMMIT = "4" * 40

pytestmark = pytest.mark.django_db


def gh(path: str) -> re.Pattern[str]:
    """The URL of ``path`` under the API. PyGithub writes the default port out (``:443``)."""
    return re.compile(r"https://github\.test(:443)?/api/v3" + re.escape(path) + r"(\?.*)?$")


def repo_json(name: str = REPO, **extra: object) -> dict:
    return {
        "id": 4242,
        "node_id": "R_kgDOTest",
        "name": name,
        "full_name": f"{ORG}/{name}",
        "html_url": f"https://github.test/{ORG}/{name}",
        "url": f"{API}/repos/{ORG}/{name}",
        "description": "Algorithms 2026, group 1 [course:abc]",
        "default_branch": "main",
        "private": True,
        **extra,
    }


def sent_json(call: responses.Call) -> dict:
    return json.loads(call.request.body or b"")  # typed optional; a sent write has a body


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(github_client.time, "sleep", recorded.append)
    return recorded


@pytest.fixture
def client(sleeps: list[float]) -> GitHubClient:
    return GitHubClient(
        api_url=API,
        token=TOKEN,
        org=ORG,
        seconds_between_writes=0,
        safe_retries=2,
        safe_retry_delay=0,
    )


# -- repositories -----------------------------------------------------------------------------
def test_create_repo_posts_a_private_initialized_repo(mocked, client, sleeps):
    mocked.post(gh(f"/orgs/{ORG}/repos"), json=repo_json(), status=201)

    info = client.create_repo(REPO, description="Algorithms 2026, group 1 [course:abc]")

    assert info == RepoInfo(
        id=4242,
        name=REPO,
        full_name=f"{ORG}/{REPO}",
        html_url=f"https://github.test/{ORG}/{REPO}",
        description="Algorithms 2026, group 1 [course:abc]",
        default_branch="main",
        private=True,
    )
    (call,) = mocked.calls
    assert call.request.method == "POST"
    body = sent_json(call)
    assert body["name"] == REPO
    assert body["private"] is True
    assert body["auto_init"] is True
    assert body["description"] == "Algorithms 2026, group 1 [course:abc]"
    assert TOKEN in call.request.headers["Authorization"]
    (row,) = audit_rows()
    assert (row.provider, row.method, row.route) == ("github", "POST", "/orgs/{org}/repos")
    assert row.url.endswith(f"/api/v3/orgs/{ORG}/repos")
    assert row.request_body["name"] == REPO
    assert row.response_status == 201
    assert sleeps == []


def test_create_repo_on_a_taken_name_is_a_conflict(mocked, client):
    mocked.post(
        gh(f"/orgs/{ORG}/repos"),
        status=422,
        json={
            "message": "Repository creation failed.",
            "errors": [
                {
                    "resource": "Repository",
                    "code": "custom",
                    "field": "name",
                    "message": "name already exists on this account",
                }
            ],
            "documentation_url": "https://docs.github.com/rest/repos/repos#create-an-organization-repository",
        },
    )

    with pytest.raises(ConflictError) as raised:
        client.create_repo(REPO, description="x")

    assert raised.value.status == 422
    assert raised.value.permanent is True
    assert len(mocked.calls) == 1


def test_create_repo_is_not_repeated_after_a_502(mocked, client, sleeps):
    mocked.post(gh(f"/orgs/{ORG}/repos"), status=502, json={"message": "Server Error"})

    with pytest.raises(TransientError) as raised:
        client.create_repo(REPO, description="x")

    assert raised.value.status == 502
    assert len(mocked.calls) == 1  # the repository may exist by now: the step looks first
    assert sleeps == []
    assert [row.response_status for row in audit_rows()] == [502]


def test_get_repo_makes_exactly_one_get(mocked, client):
    mocked.get(gh(f"/repos/{ORG}/{REPO}"), json=repo_json())

    info = client.get_repo(REPO)

    assert info.full_name == f"{ORG}/{REPO}"
    assert info.private is True
    assert [call.request.method for call in mocked.calls] == ["GET"]
    (row,) = audit_rows()
    assert (row.method, row.route, row.response_status) == ("GET", "/repos/{owner}/{repo}", 200)


def test_get_repo_404_is_not_found(mocked, client):
    mocked.get(gh(f"/repos/{ORG}/{REPO}"), status=404, json={"message": "Not Found"})

    with pytest.raises(NotFoundError) as raised:
        client.get_repo(REPO)

    assert raised.value.status == 404
    assert len(mocked.calls) == 1


def test_get_repo_is_repeated_after_a_502(mocked, client, sleeps):
    mocked.get(gh(f"/repos/{ORG}/{REPO}"), status=502, json={"message": "Server Error"})
    mocked.get(gh(f"/repos/{ORG}/{REPO}"), json=repo_json())

    assert client.get_repo(REPO).name == REPO

    assert len(mocked.calls) == 2
    assert [row.response_status for row in audit_rows()] == [502, 200]
    assert sleeps == [0]  # our backoff (safe_retry_delay=0), nothing from PyGithub


def test_connection_error_is_transient_and_audited(mocked, client):
    for _ in range(3):
        mocked.get(gh(f"/repos/{ORG}/{REPO}"), body=requests.ConnectionError("reset by peer"))

    with pytest.raises(TransientError):
        client.get_repo(REPO)

    rows = audit_rows()
    assert len(rows) == 3  # a GET is repeated: safe_retries=2
    assert all(row.response_status is None and "reset by peer" in row.error for row in rows)


# -- error typing -----------------------------------------------------------------------------
def test_401_is_permanent_and_names_the_setting(mocked, client):
    mocked.get(
        gh(f"/repos/{ORG}/{REPO}"),
        status=401,
        json={"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
    )

    with pytest.raises(PermanentError) as raised:
        client.get_repo(REPO)

    assert "GITHUB_TOKEN" in raised.value.message
    assert raised.value.status == 401
    assert raised.value.permanent is True
    assert len(mocked.calls) == 1


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_is_rate_limited_with_retry_after_and_no_sleep(
    mocked, client, sleeps, status
):
    mocked.get(
        gh(f"/repos/{ORG}/{REPO}"),
        status=status,
        json={
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
            "before you try again.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        },
        headers={"retry-after": "30", "x-ratelimit-remaining": "4000"},
    )

    with pytest.raises(RateLimitedError) as raised:
        client.get_repo(REPO)

    assert raised.value.retry_after == 30
    assert raised.value.permanent is False
    # PyGithub's sleeping retry is off and our own retry skips rate limits: one request, no sleep.
    assert len(mocked.calls) == 1
    assert sleeps == []
    assert len(audit_rows()) == 1


def test_primary_rate_limit_waits_until_the_reset(mocked, client, sleeps):
    reset = int(time.time()) + 100
    mocked.post(
        gh(f"/orgs/{ORG}/repos"),
        status=403,
        json={"message": "API rate limit exceeded for user ID 1."},
        headers={
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(reset),
        },
    )

    with pytest.raises(RateLimitedError) as raised:
        client.create_repo(REPO, description="x")

    assert raised.value.retry_after == pytest.approx(100, abs=2)
    assert len(mocked.calls) == 1
    assert sleeps == []


def test_forbidden_without_rate_limit_signs_is_permanent(mocked, client):
    mocked.post(
        gh(f"/orgs/{ORG}/repos"),
        status=403,
        json={"message": "Resource not accessible by personal access token"},
        headers={"x-ratelimit-remaining": "4990", "x-ratelimit-reset": "9999999999"},
    )

    with pytest.raises(PermanentError) as raised:
        client.create_repo(REPO, description="x")

    assert not isinstance(raised.value, TransientError)
    assert raised.value.status == 403


def test_branch_protection_on_a_free_plan_is_a_plan_limit(mocked, client):
    mocked.put(
        gh(f"/repos/{ORG}/{REPO}/branches/main/protection"),
        status=403,
        json={
            "message": "Upgrade to GitHub Pro or make this repository public to enable this "
            "feature.",
            "documentation_url": "https://docs.github.com/rest/branches/branch-protection",
        },
        headers={"x-ratelimit-remaining": "4990", "x-ratelimit-reset": "9999999999"},
    )

    with pytest.raises(PlanLimitError) as raised:
        client.protect_branch(REPO, branch="main")

    assert isinstance(raised.value, PermanentError)
    assert raised.value.permanent is True
    assert "GitHub Team" in raised.value.message
    assert "PROVISIONING_SKIP_UNAVAILABLE_PROTECTION" in raised.value.message
    assert len(mocked.calls) == 1


# -- seeding in one commit --------------------------------------------------------------------
def mock_head(mocked: responses.RequestsMock) -> None:
    repo_api = f"{API}/repos/{ORG}/{REPO}"
    mocked.get(
        gh(f"/repos/{ORG}/{REPO}/git/ref/heads/main"),
        json={
            "ref": "refs/heads/main",
            "node_id": "REF_kwDOTest",
            "url": f"{repo_api}/git/refs/heads/main",
            "object": {
                "type": "commit",
                "sha": HEAD_SHA,
                "url": f"{repo_api}/git/commits/{HEAD_SHA}",
            },
        },
    )
    mocked.get(
        gh(f"/repos/{ORG}/{REPO}/git/commits/{HEAD_SHA}"),
        json={
            "sha": HEAD_SHA,
            "url": f"{repo_api}/git/commits/{HEAD_SHA}",
            "message": "Initial commit",
            "tree": {"sha": HEAD_TREE, "url": f"{repo_api}/git/trees/{HEAD_TREE}"},
            "parents": [],
        },
    )


def tree_answer(sha: str) -> dict:
    return {"sha": sha, "url": f"{API}/repos/{ORG}/{REPO}/git/trees/{sha}", "tree": []}


FILES = {"README.md": "# Group 1\n", "docs/rules.md": "Be kind.\n"}


def test_commit_files_makes_one_commit_and_moves_the_branch(mocked, client):
    mock_head(mocked)
    mocked.post(gh(f"/repos/{ORG}/{REPO}/git/trees"), json=tree_answer(NEW_TREE), status=201)
    mocked.post(
        gh(f"/repos/{ORG}/{REPO}/git/commits"),
        json={"sha": NEW_COMMIT, "tree": {"sha": NEW_TREE}, "parents": [{"sha": HEAD_SHA}]},
        status=201,
    )
    mocked.patch(
        gh(f"/repos/{ORG}/{REPO}/git/refs/heads/main"),
        json={"ref": "refs/heads/main", "object": {"type": "commit", "sha": NEW_COMMIT}},
    )

    sha = client.commit_files(REPO, branch="main", files=FILES, message="Seed the repository")

    assert sha == NEW_COMMIT
    get_ref, get_commit, post_tree, post_commit, patch_ref = mocked.calls
    assert (get_ref.request.method, get_commit.request.method) == ("GET", "GET")
    assert sent_json(post_tree) == {
        "base_tree": HEAD_TREE,
        "tree": [
            {"path": "README.md", "mode": "100644", "type": "blob", "content": "# Group 1\n"},
            {"path": "docs/rules.md", "mode": "100644", "type": "blob", "content": "Be kind.\n"},
        ],
    }
    assert sent_json(post_commit) == {
        "message": "Seed the repository",
        "tree": NEW_TREE,
        "parents": [HEAD_SHA],
    }
    assert patch_ref.request.method == "PATCH"
    assert patch_ref.request.url.endswith(f"/repos/{ORG}/{REPO}/git/refs/heads/main")
    assert sent_json(patch_ref) == {"sha": NEW_COMMIT, "force": False}
    assert [(row.method, row.route) for row in audit_rows()] == [
        ("GET", "/repos/{owner}/{repo}/git/ref/{ref}"),
        ("GET", "/repos/{owner}/{repo}/git/commits/{sha}"),
        ("POST", "/repos/{owner}/{repo}/git/trees"),
        ("POST", "/repos/{owner}/{repo}/git/commits"),
        ("PATCH", "/repos/{owner}/{repo}/git/ref/{ref}"),
    ]


def test_commit_files_makes_no_commit_when_the_files_are_already_there(mocked, client):
    mock_head(mocked)
    mocked.post(gh(f"/repos/{ORG}/{REPO}/git/trees"), json=tree_answer(HEAD_TREE), status=201)

    assert client.commit_files(REPO, branch="main", files=FILES, message="Seed") is None

    assert [call.request.method for call in mocked.calls] == ["GET", "GET", "POST"]
    assert len(audit_rows()) == 3  # no POST git/commits, no PATCH of the ref


# -- branch protection ------------------------------------------------------------------------
def test_protect_branch_puts_the_full_setting(mocked, client):
    mocked.put(
        gh(f"/repos/{ORG}/{REPO}/branches/main/protection"),
        json={"url": f"{API}/repos/{ORG}/{REPO}/branches/main/protection"},
    )

    data = client.protect_branch(REPO, branch="main")

    assert data["url"].endswith("/branches/main/protection")
    (call,) = mocked.calls
    assert call.request.method == "PUT"
    body = sent_json(call)
    for key in (
        "required_status_checks",
        "enforce_admins",
        "required_pull_request_reviews",
        "restrictions",
    ):
        assert key in body, f"{key} must always be sent"
    assert body["required_status_checks"] is None
    assert body["enforce_admins"] is False
    assert body["required_pull_request_reviews"]["required_approving_review_count"] == 1
    assert body["restrictions"] is None
    assert body["allow_force_pushes"] is False
    assert body["allow_deletions"] is False
    (row,) = audit_rows()
    assert row.route == "/repos/{owner}/{repo}/branches/{branch}/protection"


# -- the audit trail --------------------------------------------------------------------------
def test_audit_rows_carry_the_audit_scope(mocked, client, monkeypatch):
    course = CourseFactory()
    clock = SimpleNamespace(now=100.0)
    clock.monotonic = lambda: clock.now
    monkeypatch.setattr(audited, "time", clock)

    def slow_answer(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        clock.now += 0.4  # GitHub takes 400 ms to answer
        return 200, {}, json.dumps(repo_json())

    mocked.add_callback(responses.GET, gh(f"/repos/{ORG}/{REPO}"), callback=slow_answer)

    with audit_scope(course_id=course.pk, step="create_repo", attempt=3, task_id="task-9"):
        client.get_repo(REPO)

    (row,) = audit_rows()
    assert (row.course_id, row.step, row.attempt, row.task_id) == (
        course.pk,
        "create_repo",
        3,
        "task-9",
    )
    assert row.duration_ms == 400
    assert json.loads(row.response_excerpt)["full_name"] == f"{ORG}/{REPO}"


def test_token_never_reaches_the_audit_trail(mocked, client, settings):
    settings.GITHUB_TOKEN = TOKEN
    mocked.post(gh(f"/orgs/{ORG}/repos"), json=repo_json(description=f"token {TOKEN}"), status=201)
    mocked.get(gh(f"/repos/{ORG}/{REPO}"), status=404, json={"message": f"Not Found for {TOKEN}"})
    mocked.put(
        gh(f"/repos/{ORG}/{REPO}/branches/main/protection"),
        body=requests.ConnectionError(f"reset while sending {TOKEN}"),
    )

    client.create_repo(REPO, description=f"leaked {TOKEN}")
    with pytest.raises(NotFoundError):
        client.get_repo(REPO)
    with pytest.raises(TransientError):
        GitHubClient(
            api_url=API, token=TOKEN, org=ORG, seconds_between_writes=0, safe_retries=0
        ).protect_branch(REPO, branch="main")

    assert all(TOKEN in call.request.headers["Authorization"] for call in mocked.calls)
    assert TOKEN in mocked.calls[0].response.text
    assert len(audit_rows()) == 3
    assert_secret_absent(TOKEN)


def test_only_our_github_instance_is_audited(mocked, client):
    mocked.get(gh(f"/repos/{ORG}/{REPO}"), json=repo_json())
    mocked.get(gh(f"/repos/{ORG}/{REPO}"), json=repo_json())

    client.get_repo(REPO)
    assert len(audit_rows()) == 1
    other = Github(base_url=API, retry=None, lazy=True)
    assert other.get_repo(f"{ORG}/{REPO}").raw_data["name"] == REPO

    assert len(mocked.calls) == 2
    assert len(audit_rows()) == 1  # PyGithub used elsewhere is left alone
