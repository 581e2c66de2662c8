"""What the benchmarks share: a scratch PostgreSQL database, a free loopback port, and child
processes (gunicorn, Celery workers) started in their own process group and stopped on exit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import environ
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo


def scratch_database(url: str, suffix: str) -> tuple[str, str]:
    """Create ``<NAME>_<suffix>`` next to ``url``'s database (its data is left alone); return
    the scratch database's URL and the admin connection string that can drop it."""
    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        sys.exit(f"{suffix}: DATABASE_URL must point at PostgreSQL (postgres://...)")
    name = f"{config['NAME']}_{suffix}"
    admin = make_conninfo(
        dbname="postgres",  # the maintenance database, as Django's test runner does
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urllib.parse.urlsplit(url)._replace(path=f"/{name}").geturl(), admin


def drop_database(admin: str, url: str) -> None:
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child run from the repository in its own process group, its output in ``log``, stopped
    with its own children (TERM, then KILL) on exit."""
    with log.open("wb") as out:
        child = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield child
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=10)


def wait_until(condition: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    """Poll ``condition``; past ``timeout``, exit with the end of the child's ``log``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            program = Path(sys.argv[0]).stem
            sys.exit(f"{program}: no {what} in {timeout:.0f}s:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 (``/health`` needs no key)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:  # refused, reset, timed out, or an HTTP error status
        return False


@contextmanager
def workers_and_api(
    env: dict[str, str], logs: Path, *, concurrency: int, name: str, gunicorn_args: list[str]
) -> Iterator[str]:
    """Two Celery workers of ``concurrency`` each and gunicorn (2 workers) on a free port, all
    ready; yields the API's base URL. Logs go to ``logs``."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    celery = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork"]
    gunicorn = [sys.executable, "-m", "gunicorn", "config.wsgi:application", *gunicorn_args]
    with (
        process(
            [*celery, "-c", str(concurrency), "-n", f"{name}1@%h", "-l", "INFO"],
            env,
            logs / "worker1.log",
        ),
        process(
            [*celery, "-c", str(concurrency), "-n", f"{name}2@%h", "-l", "INFO"],
            env,
            logs / "worker2.log",
        ),
        process(
            [*gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            env,
            logs / "gunicorn.log",
        ),
    ):
        for n in (1, 2):
            log = logs / f"worker{n}.log"
            wait_until(_ready(log), 60, "ready worker", log)
        wait_until(lambda: answers(base + "/health"), 60, "gunicorn", logs / "gunicorn.log")
        yield base


def _ready(log: Path) -> Callable[[], bool]:
    return lambda: " ready." in log.read_text()
