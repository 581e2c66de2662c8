"""End-to-end fixtures: a real Celery worker on Redis, PostgreSQL, the sandbox over HTTP.

They need ``E2E_BROKER_URL`` (a Redis database the tests may flush) and ``DATABASE_URL`` on
PostgreSQL, as ``.ci/run`` sets them. Without them the tests are skipped locally, and fail under
``CI=true``: CI must never pass by skipping them.
"""

from __future__ import annotations

import contextlib
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
import redis
import requests
from django.db import connection

from config.celery import app as celery_app
from tests.conftest import ORG, Platforms

ROOT = Path(__file__).resolve().parents[2]


def e2e_broker_url() -> str:
    broker = os.environ.get("E2E_BROKER_URL", "")
    if broker and connection.vendor == "postgresql":
        return broker
    reason = "end-to-end tests need E2E_BROKER_URL (Redis) and DATABASE_URL on PostgreSQL"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


WORKER_ARGS = [
    "worker",
    "--pool",
    "prefork",
    "--concurrency",
    "2",
    "--loglevel",
    "INFO",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
]


class Worker:
    """A Celery process (a worker, by default prefork with 2 children) in its own process group."""

    def __init__(self, env: dict[str, str], log: Path, args: list[str] | None = None) -> None:
        self.env = env
        self.log = log
        self.args = args or WORKER_ARGS
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", *self.args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the worker and its children: no chance to acknowledge or clean up."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def broker_url(transactional_db) -> Iterator[str]:
    """Route this process's task messages to Redis, on a flushed database."""
    url = e2e_broker_url()
    redis.Redis.from_url(url).flushdb()
    # The app reads Django's CELERY_* names (namespace="CELERY"): set those, not the lowercase.
    conf = celery_app.conf
    saved = (conf.CELERY_BROKER_URL, conf.CELERY_TASK_ALWAYS_EAGER)
    conf.CELERY_BROKER_URL, conf.CELERY_TASK_ALWAYS_EAGER = url, False
    _forget_connections()
    yield url
    conf.CELERY_BROKER_URL, conf.CELERY_TASK_ALWAYS_EAGER = saved
    _forget_connections()


def _forget_connections() -> None:
    """Drop the pools built from the previous broker URL (as Celery does after a fork)."""
    # Celery's private pools: no public way to drop them (its own after-fork hook does this).
    celery_app._pool = None  # type: ignore[attr-defined]
    celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]


@pytest.fixture
def worker_env(broker_url, platforms: Platforms) -> dict[str, str]:
    """The environment of worker and beat processes: this test's database, broker, sandbox."""
    db = connection.settings_dict
    sandbox = platforms.sandbox
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "CELERY_BROKER_URL": broker_url,
        "INTEGRATIONS_MODE": "sandbox",
        "DISCORD_API_URL": sandbox.discord_api_url,
        "GITHUB_API_URL": sandbox.github_api_url,
        "DISCORD_BOT_TOKEN": "sandbox-discord-token",
        "GITHUB_TOKEN": "sandbox-github-token",
        "GITHUB_ORG": ORG,
        "GITHUB_SECONDS_BETWEEN_WRITES": "0",
        "GITHUB_WRITE_BUDGET": "1000/60",  # the fake GitHub enforces no secondary limit here
        "PROVISIONING_RETRY_BASE_SECONDS": "0.05",
        "INTEGRATIONS_SAFE_RETRY_DELAY": "0.01",
        # A killed run's claim goes stale fast, and its message comes back fast.
        "PROVISIONING_LEASE_SECONDS": "3",
        "CELERY_VISIBILITY_TIMEOUT": "4",
    }


@pytest.fixture
def worker(worker_env: dict[str, str], tmp_path) -> Iterator[Worker]:
    worker = Worker(worker_env, tmp_path / "worker.log")
    worker.start()
    yield worker
    worker.stop()
    print(worker.tail())  # shown by pytest when the test failed


def wait_for(condition: Callable[[], bool], timeout: float, what: str, worker: Worker) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n--- worker log ---\n{worker.tail()}")


API_KEY = "e2e-bootstrap-key-0123456789abcdef"


@dataclass
class ApiServer:
    """gunicorn serving config.wsgi on a loopback port, and its log."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"x-api-key": API_KEY, **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_api(env: dict[str, str], log: Path, workers: int = 2) -> Iterator[ApiServer]:
    """gunicorn with the shipped configuration (config/gunicorn.py: threaded workers, client
    timeouts) and ``workers`` processes on a free loopback port, in ``env`` (database, broker,
    sandbox) plus API_KEY as the bootstrap key; stopped (and its log tail printed) on exit."""
    port = free_port()
    env = {"ALLOWED_HOSTS": "127.0.0.1", **env, "API_KEY": API_KEY}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "config/gunicorn.py",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
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
        wait_for_server(lambda: _healthy(server), 30, "gunicorn to answer /health", server)
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        print(server.tail())  # shown by pytest when the test failed


@pytest.fixture
def api_server(worker: Worker, tmp_path: Path) -> Iterator[ApiServer]:
    """gunicorn (2 workers, the shipped configuration) with the worker's environment."""
    with serve_api(worker.env, tmp_path / "gunicorn.log") as server:
        yield server


def _healthy(server: ApiServer) -> bool:
    try:
        return requests.get(server.url + "/health", timeout=5).status_code == 200
    except requests.RequestException:  # not listening yet, or still importing Django
        return False


def wait_for_server(
    condition: Callable[[], bool], timeout: float, what: str, server: ApiServer
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}\n--- gunicorn ---\n{server.tail()}")
