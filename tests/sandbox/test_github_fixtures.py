"""Replay real recorded GitHub exchanges (octokit/fixtures) against the fake GitHub.

Each fixture file is a sequence of requests made to api.github.com with the answers GitHub gave.
We set up the same starting state in the sandbox, send the same requests in the same order over
HTTP, and require the same status codes and the same JSON keys (recursively; for lists, the keys
of their items). Values differ by nature (ids, urls, dates), keys and statuses must not.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests

from sandbox.server import RunningSandbox
from tests.helpers import REFERENCE

FIXTURES = REFERENCE / "octokit-fixtures"
TOKEN = "sandbox-github-token"
ORG = "octokit-fixture-org"
API_HOST = "https://api.github.com"
RATE_HEADERS = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-used",
    "x-ratelimit-reset",
    "x-ratelimit-resource",
)
PLACEHOLDER = "00000000000000000000000000000000000000{:02d}"


def shape(value: Any) -> Any:
    """The keys of ``value``, recursively; a list's items are merged into one shape."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        objects = [item for item in value if isinstance(item, dict)]
        for item in objects:
            merged.update(shape(item))
        return [merged] if objects else []
    return "null" if value is None else "scalar"


def differences(expected: Any, actual: Any, where: str = "$") -> list[str]:
    """Where two shapes disagree. ``null`` matches anything: a value that is null in one answer
    (a repository without description, an unset restriction) can be an object in another."""
    if "null" in (expected, actual):
        return []
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = [f"{where}.{key}: missing" for key in expected.keys() - actual.keys()]
        found += [f"{where}.{key}: unexpected" for key in actual.keys() - expected.keys()]
        for key in sorted(expected.keys() & actual.keys()):
            found += differences(expected[key], actual[key], f"{where}.{key}")
        return found
    if isinstance(expected, list) and isinstance(actual, list):
        if expected and actual:
            return differences(expected[0], actual[0], f"{where}[]")
        return []  # an empty list on either side has no item keys to compare
    if expected == actual == "scalar":
        return []
    return [f"{where}: {type(expected).__name__} vs {type(actual).__name__}"]


class Replayer:
    """Sends a fixture's requests to the sandbox, substituting the state-specific values."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.substitutions: dict[str, str] = {}

    def call(self, method: str, path: str, body: Any = None, accept: str | None = None):
        headers = {"Authorization": f"token {TOKEN}"}
        if accept:
            headers["Accept"] = accept
        return self.session.request(
            method.upper(),
            self.sandbox.github_api_url + path,
            data=None if body is None else json.dumps(body),
            headers=headers,
            allow_redirects=False,
            timeout=10,
        )

    def substitute(self, text: str) -> str:
        for old, new in self.substitutions.items():
            text = text.replace(old, new)
        return text

    def replay(self, name: str) -> list[dict[str, Any]]:
        """Replay ``name``.json; return the exchanges with the sandbox's answers attached."""
        exchanges = json.loads((FIXTURES / f"{name}.json").read_text())
        for exchange in exchanges:
            body = exchange["body"]
            if body == "":
                body = None
            elif body is not None:
                body = json.loads(self.substitute(json.dumps(body)))
            response = self.call(
                exchange["method"],
                self.substitute(exchange["path"]),
                body,
                exchange["reqheaders"].get("accept"),
            )
            exchange["actual"] = response
            self.check(name, exchange, response)
        return exchanges

    def check(self, name: str, exchange: dict[str, Any], response: requests.Response) -> None:
        label = f"{name}: {exchange['method'].upper()} {exchange['path']}"
        assert response.status_code == exchange["status"], f"{label}: {response.text}"
        for header in RATE_HEADERS:
            assert header in response.headers, f"{label}: no {header}"
        expected = exchange["response"]
        if isinstance(expected, str):
            # An empty body (204) or a raw file (Accept: application/vnd.github.v3.raw).
            assert response.text == expected, label
            return
        actual = response.json()
        if exchange["status"] >= 400 and isinstance(actual, dict) and "status" not in expected:
            # GitHub added "status": "NNN" to error bodies after these were recorded (2022);
            # today's API sends it, and so does the fake.
            assert actual.pop("status") == str(exchange["status"]), label
        problems = differences(shape(expected), shape(actual))
        assert not problems, f"{label}: {problems}"


@pytest.fixture
def replayer(sandbox: RunningSandbox, sandbox_control) -> Replayer:
    sandbox_control.create_org(ORG, plan="team")
    return Replayer(sandbox)


def test_get_organization(replayer: Replayer) -> None:
    [exchange] = replayer.replay("get-organization")
    assert exchange["actual"].json()["plan"]["name"] == "team"


def test_get_repository(replayer: Replayer) -> None:
    created = replayer.call(
        "POST", f"/orgs/{ORG}/repos", {"name": "hello-world", "auto_init": True}
    )
    assert created.status_code == 201
    topics = replayer.call(
        "PUT", f"/repos/{ORG}/hello-world/topics", {"names": ["fixtures", "hello", "hello-world"]}
    )
    assert topics.status_code == 200
    [exchange] = replayer.replay("get-repository")
    assert exchange["actual"].json()["topics"] == ["fixtures", "hello", "hello-world"]


def test_branch_protection(replayer: Replayer) -> None:
    created = replayer.call(
        "POST", f"/orgs/{ORG}/repos", {"name": "branch-protection", "auto_init": True}
    )
    assert created.status_code == 201
    exchanges = replayer.replay("branch-protection")
    full = exchanges[2]["actual"].json()
    assert full["required_status_checks"]["contexts"] == ["foo/bar"]
    assert full["enforce_admins"]["enabled"] is True
    assert [user["login"] for user in full["restrictions"]["users"]] == ["octokit-fixture-user-a"]
    # DELETE took effect: the branch is unprotected again.
    again = replayer.call("GET", f"/repos/{ORG}/branch-protection/branches/main/protection")
    assert again.status_code == 404


def test_errors_label_validation(replayer: Replayer) -> None:
    created = replayer.call("POST", f"/orgs/{ORG}/repos", {"name": "errors"})
    assert created.status_code == 201
    [exchange] = replayer.replay("errors")
    assert exchange["actual"].json()["errors"] == [
        {"resource": "Label", "code": "invalid", "field": "color"}
    ]


def test_git_refs(replayer: Replayer) -> None:
    created = replayer.call("POST", f"/orgs/{ORG}/repos", {"name": "git-refs", "auto_init": True})
    assert created.status_code == 201
    first = replayer.call("GET", f"/repos/{ORG}/git-refs/git/ref/heads/main").json()["object"]
    # The recording's repository had two commits on main: 0...01 the head, 0...02 its parent
    # (the test branch is created at the parent and then fast-forwarded to the head).
    content = base64.b64encode(b"second\n").decode()
    second = replayer.call(
        "PUT",
        f"/repos/{ORG}/git-refs/contents/second.txt",
        {"message": "second", "content": content},
    ).json()["commit"]["sha"]
    replayer.substitutions = {PLACEHOLDER.format(1): second, PLACEHOLDER.format(2): first["sha"]}
    exchanges = replayer.replay("git-refs")
    listed = [ref["ref"] for ref in exchanges[3]["actual"].json()]
    assert listed == ["refs/heads/main", "refs/heads/test"]
    assert exchanges[2]["actual"].json()["object"]["sha"] == second


def test_create_file_on_an_empty_repository(replayer: Replayer) -> None:
    assert replayer.call("POST", f"/orgs/{ORG}/repos", {"name": "create-file"}).status_code == 201
    [exchange] = replayer.replay("create-file")
    answer = exchange["actual"].json()
    # Blob ids are real git ids, so this one is the very id GitHub recorded.
    assert answer["content"]["sha"] == exchange["response"]["content"]["sha"]
    assert answer["commit"]["parents"] == []


def test_get_content_listing_and_raw(replayer: Replayer) -> None:
    assert replayer.call("POST", f"/orgs/{ORG}/repos", {"name": "hello-world"}).status_code == 201
    content = base64.b64encode(b"# hello-world").decode()
    put = replayer.call(
        "PUT", f"/repos/{ORG}/hello-world/contents/README.md", {"message": "x", "content": content}
    )
    assert put.status_code == 201
    listing, raw = replayer.replay("get-content")
    assert listing["actual"].json()[0]["sha"] == listing["response"][0]["sha"]
    assert raw["actual"].headers["content-type"].startswith("application/vnd.github")


def test_rename_repository_redirects(replayer: Replayer) -> None:
    """The recording's 301/307 answers point at ``/repositories/{id}``: ours use our own id."""
    created = replayer.call("POST", f"/orgs/{ORG}/repos", {"name": "rename-repository"})
    assert created.status_code == 201
    replayer.substitutions = {"/repositories/1000": f"/repositories/{created.json()['id']}"}
    exchanges = replayer.replay("rename-repository")
    moved = exchanges[1]["actual"]
    assert moved.headers["location"].endswith(f"/repositories/{created.json()['id']}")
    assert exchanges[3]["actual"].status_code == 307
    assert exchanges[4]["actual"].json()["description"] == "test description"


def test_fixture_urls_are_from_github(replayer: Replayer) -> None:
    """Guard: the replayed files really are recordings of api.github.com."""
    for name in ("branch-protection", "git-refs", "get-repository", "get-organization", "errors"):
        exchanges = json.loads((FIXTURES / f"{name}.json").read_text())
        assert all(exchange["scope"].startswith(API_HOST) for exchange in exchanges)
