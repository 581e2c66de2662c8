"""The API over real HTTP: gunicorn serving config.wsgi, a real Celery worker on Redis, PostgreSQL,
and the sandbox. Create a laboratory, follow it to COMPLETED, read its resources and audit; then a
permanent fault, FAILED with the step's error, the fault cleared, a retry, COMPLETED."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import ROOT, Worker

pytestmark = pytest.mark.e2e

API_KEY = "e2e-bootstrap-key-0123456789"
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


@dataclass
class ApiServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"x-api-key": API_KEY, **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def api_server(worker: Worker, tmp_path: Path) -> Iterator[ApiServer]:
    """gunicorn on a free loopback port, with the worker's environment (database, broker,
    sandbox) and API_KEY as the bootstrap key."""
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    env = {**worker.env, "API_KEY": API_KEY, "ALLOWED_HOSTS": "127.0.0.1"}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ApiServer(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait(lambda: _healthy(server), 30, "gunicorn to answer /health", server)
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        print(server.tail())  # shown by pytest when the test failed


def _healthy(server: ApiServer) -> bool:
    try:
        return requests.get(server.url + "/health", timeout=5).status_code == 200
    except requests.RequestException:  # not listening yet, or still importing Django
        return False


def _wait(condition: Callable[[], bool], timeout: float, what: str, server: ApiServer) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}\n--- gunicorn ---\n{server.tail()}")


def _settle(server: ApiServer, status_url: str, timeout: float = 120) -> dict[str, Any]:
    """Poll the status until the course is COMPLETED or FAILED; return the last status."""
    seen: dict[str, Any] = {}

    def settled() -> bool:
        response = requests.get(status_url, headers={"x-api-key": API_KEY}, timeout=10)
        assert response.status_code == 200, response.text
        seen.update(response.json())
        return seen["courseStatus"] in ("COMPLETED", "FAILED")

    _wait(settled, timeout, f"{status_url} to settle", server)
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
