"""GET /health: no key needed; 200 when the database and the broker answer, 503 naming which
one does not."""

from __future__ import annotations

import socket

import pytest
from django.db import OperationalError, connection

pytestmark = pytest.mark.django_db


def test_healthy_with_eager_tasks_says_in_process(anonymous):
    response = anonymous.get("/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "in-process"},
    }


def test_a_wrong_key_does_not_matter(client_for):
    assert client_for("wrong").get("/health").status_code == 200


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_broker_is_503_naming_it(anonymous, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    settings.API_HEALTH_BROKER_TIMEOUT = 0.5

    response = anonymous.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error: ")
    assert "127.0.0.1" not in body["checks"]["broker"]  # public endpoint: no internals


def test_reachable_broker_is_ok(anonymous, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "memory://"

    assert anonymous.get("/health").json()["checks"]["broker"] == "ok"


def test_database_down_is_503_naming_it(anonymous, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("could not connect to server at db.internal")

    monkeypatch.setattr(connection, "cursor", down)

    response = anonymous.get("/health")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "error: OperationalError"
