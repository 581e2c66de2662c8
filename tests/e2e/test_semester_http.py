"""A course's semester over real HTTP: gunicorn, a real Celery worker on Redis, PostgreSQL and the
sandbox. A laboratory provisioned, its roster posted as CSV and synced, verified, a channel
deleted by hand found and repaired, archived and unarchived, then torn down: each operation
queued by the API and run by the worker, one at a time."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import ApiServer, wait_for_server

pytestmark = pytest.mark.e2e

ROSTER = (
    "name,email,github,role,group\n"
    "Irene,,irene-prof,instructor,\n"
    "Ada,,ada-student,student,1\n"
    "Ben,ben@uni.example,,student,2\n"
)


def _idle(server: ApiServer, course_id: str, timeout: float = 120) -> dict[str, Any]:
    """Wait until the course's operations have all ended; return the last one."""
    last: dict[str, Any] = {}

    def ended() -> bool:
        operations = server.call("GET", f"/courses/{course_id}/operations").json()
        last.update(operations[-1])
        return all(o["status"] in ("COMPLETED", "FAILED") for o in operations)

    wait_for_server(ended, timeout, f"course {course_id}'s operations to end", server)
    return last


def _start(server: ApiServer, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = server.call(method, path, **kwargs)
    assert response.status_code in (201, 202), response.text
    return response.json()


def test_a_laboratorys_semester_over_http(api_server, worker, platforms, sandbox_control):
    platforms.add_servers(1)
    created = _start(
        api_server,
        "POST",
        "/courses",
        json={
            "name": "Networks",
            "semester": "2026-fall",
            "type": "LABORATORY",
            "labGroups": [{"name": "Mon", "number": 1}, {"name": "Tue", "number": 2}],
        },
    )
    course_id = created["id"]
    assert _idle(api_server, course_id)["status"] == "COMPLETED", worker.tail()

    imported = _start(
        api_server,
        "POST",
        f"/courses/{course_id}/members",
        data=ROSTER.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert imported["counts"]["added"] == 3 and imported["sync"]["started"], imported
    synced = _idle(api_server, course_id)
    assert (synced["kind"], synced["status"]) == ("SYNC_MEMBERS", "COMPLETED"), worker.tail()
    members = api_server.call("GET", f"/courses/{course_id}/members").json()
    assert {m["githubState"] for m in members} == {"pending"}
    sheet = api_server.call("GET", f"/courses/{course_id}/links.csv")
    assert sheet.status_code == 200 and sheet.text.count("https://discord.gg/") == 3

    # Busy: a second operation while one is queued is refused, not queued.
    _start(api_server, "POST", f"/courses/{course_id}/verify")
    refused = api_server.call("POST", f"/courses/{course_id}/archive")
    assert refused.status_code in (202, 409), refused.text  # 202 if the verify already ended
    _idle(api_server, course_id)
    drift = api_server.call("GET", f"/courses/{course_id}/drift").json()
    assert not drift["drifted"], drift

    channel = next(
        r
        for r in api_server.call("GET", f"/courses/{course_id}/resources").json()
        if r["kind"] == "channel" and r["key"].startswith("group-2-")
    )
    sandbox_control.delete_channel(channel["externalId"])
    _start(api_server, "POST", f"/courses/{course_id}/verify")
    _idle(api_server, course_id)
    drift = api_server.call("GET", f"/courses/{course_id}/drift").json()
    # The channel, and the group's invite link Discord deleted with it.
    assert sorted((r["kind"], r["state"]) for r in drift["resources"] if r["state"] != "ok") == [
        ("channel", "missing"),
        ("invite", "missing"),
    ]
    _start(api_server, "POST", f"/courses/{course_id}/repair")
    assert _idle(api_server, course_id)["status"] == "COMPLETED", worker.tail()
    assert not api_server.call("GET", f"/courses/{course_id}/drift").json()["drifted"]

    if api_server.call("GET", f"/courses/{course_id}").json()["archivedAt"] is None:
        _start(api_server, "POST", f"/courses/{course_id}/archive")
        assert _idle(api_server, course_id)["status"] == "COMPLETED", worker.tail()
    assert api_server.call("GET", f"/courses/{course_id}").json()["archivedAt"]
    _start(api_server, "POST", f"/courses/{course_id}/unarchive")
    assert _idle(api_server, course_id)["status"] == "COMPLETED", worker.tail()
    assert api_server.call("GET", f"/courses/{course_id}").json()["archivedAt"] is None

    _start(api_server, "DELETE", f"/courses/{course_id}")
    torn = _idle(api_server, course_id)
    assert (torn["kind"], torn["status"]) == ("TEARDOWN", "COMPLETED"), worker.tail()
    assert api_server.call("GET", f"/courses/{course_id}").json()["deletedAt"]
    listed = api_server.call("GET", "/courses").json()["results"]
    assert course_id not in {c["id"] for c in listed}
    assert course_id in {
        c["id"] for c in api_server.call("GET", "/courses?deleted=true").json()["results"]
    }
