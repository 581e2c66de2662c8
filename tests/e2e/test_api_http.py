"""The API over real HTTP: gunicorn serving config.wsgi, a real Celery worker on Redis, PostgreSQL,
and the sandbox. Create a laboratory, follow it to COMPLETED, read its resources and audit; then a
permanent fault, FAILED with the step's error, the fault cleared, a retry, COMPLETED."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.e2e.conftest import API_KEY, ApiServer, wait_for_server

pytestmark = pytest.mark.e2e

PROTECTION_REFUSED = {
    "provider": "github",
    "method": "PUT",
    "path": "/protection$",
    "status": 403,
    "body": {
        "message": "Upgrade to GitHub Pro or make this repository public to enable this feature.",
        "documentation_url": "https://docs.github.com/rest",
        "status": "403",
    },
}


def _settle(server: ApiServer, status_url: str, timeout: float = 120) -> dict[str, Any]:
    """Poll the status until the course is COMPLETED or FAILED; return the last status."""
    seen: dict[str, Any] = {}

    def settled() -> bool:
        response = requests.get(status_url, headers={"x-api-key": API_KEY}, timeout=10)
        assert response.status_code == 200, response.text
        seen.update(response.json())
        return seen["courseStatus"] in ("COMPLETED", "FAILED")

    wait_for_server(settled, timeout, f"{status_url} to settle", server)
    return seen


def test_laboratory_over_http_completes_then_fails_on_a_fault_and_retries(
    api_server, worker, platforms, sandbox_control
):
    platforms.add_servers(2)

    health = requests.get(api_server.url + "/health", timeout=10).json()
    assert health == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}

    body = {
        "name": "Operating Systems",
        "semester": "2026-fall",
        "type": "LABORATORY",
        "labGroups": [{"name": "Monday", "number": 1}, {"name": "Tuesday", "number": 2}],
    }
    created = api_server.call("POST", "/courses", json=body, headers={"Idempotency-Key": "os-1"})
    assert created.status_code == 202, created.text
    course = created.json()
    assert created.headers["Location"] == f"{api_server.url}/courses/{course['id']}"
    replay = api_server.call("POST", "/courses", json=body, headers={"Idempotency-Key": "os-1"})
    assert replay.json()["id"] == course["id"]
    assert replay.headers["Idempotent-Replayed"] == "true"

    status = _settle(api_server, created.headers["Location"] + "/status")
    assert status["courseStatus"] == "COMPLETED", (status, worker.tail())
    assert status["progress"] == {"completed": 6, "total": 6}

    resources = api_server.call("GET", f"/courses/{course['id']}/resources").json()
    repos = [r for r in resources if r["kind"] == "repository"]
    assert {r["labGroup"] for r in repos} == {1, 2}
    assert all(r["url"] and r["state"] == "confirmed" for r in repos)
    audit = api_server.call("GET", f"/courses/{course['id']}/audit?pageSize=100").json()
    assert audit["count"] > 10
    times = [entry["createdAt"] for entry in audit["results"]]
    assert times == sorted(times, reverse=True)
    assert api_server.call("GET", f"/courses/{course['id']}").json()["status"] == "COMPLETED"

    # A permanent fault: GitHub refuses branch protection (the Free plan's answer).
    sandbox_control.set_faults(rules=[PROTECTION_REFUSED])
    failing = api_server.call("POST", "/courses", json={**body, "name": "Compilers"})
    assert failing.status_code == 202, failing.text
    failing_id = failing.json()["id"]
    status = _settle(api_server, failing.headers["Location"] + "/status")
    assert status["courseStatus"] == "FAILED", (status, worker.tail())
    [failed_step] = [s for s in status["steps"] if s["status"] == "FAILED"]
    assert failed_step["stepName"] == "APPLY_GROUP_BRANCH_PROTECTIONS"
    assert "GitHub Team" in failed_step["lastError"]
    assert failed_step["attempts"] == 1  # permanent: not retried
    busy = api_server.call("POST", f"/courses/{course['id']}/retry")
    assert busy.status_code == 409 and "no failed step" in busy.json()["message"]

    sandbox_control.clear_faults()
    retried = api_server.call("POST", f"/courses/{failing_id}/retry")
    assert retried.status_code == 202, retried.text
    status = _settle(api_server, retried.headers["Location"])
    assert status["courseStatus"] == "COMPLETED", (status, worker.tail())
    assert failed_step["stepName"] in {s["stepName"] for s in status["steps"] if s["attempts"] == 2}


def test_docs_and_their_assets_are_served_by_gunicorn(api_server):
    docs = requests.get(api_server.url + "/api/docs", timeout=10)
    assert docs.status_code == 200
    bundle = requests.get(
        api_server.url + "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        timeout=10,
    )
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    schema = requests.get(api_server.url + "/api/schema?format=json", timeout=10)
    assert schema.status_code == 200 and "/courses/{id}/retry" in schema.json()["paths"]
    unauthenticated = requests.get(api_server.url + "/courses", timeout=10)
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["statusCode"] == 401
