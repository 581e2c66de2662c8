"""Load: 500 ``POST /courses`` from 25 concurrent clients while the courses are provisioned.

gunicorn (3 sync workers) serves the API, two Celery worker processes (4 children each) provision
on Redis and PostgreSQL, against the in-process sandbox. What must hold at semester start: no
request answered 5xx, every accepted course ends COMPLETED, nothing made twice on the platforms.

The platforms' limits are lifted here (GitHub write budget, Discord's global limit, on both sides):
pacing is shown by the benchmark and tests/provisioning/test_rate_limits.py, and at 45 Discord
calls a second 500 courses would take minutes of pure waiting. Throttling and the active-course
cap are off, as the API's operator would set them for a bulk import. Timings are never asserted.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from courses.models import Course
from provisioning.models import DiscordServer
from tests.conftest import Platforms
from tests.e2e.conftest import API_KEY, WORKER_ARGS, ApiServer, Worker, serve_api, wait_for
from tests.provisioning.helpers import SEEDED_FILES, assert_no_duplicates

pytestmark = pytest.mark.e2e

COURSES = 500
CLIENTS = 25
WORKERS = 2
CONCURRENCY = "4"  # per worker: 2 x 2 children cannot keep up on 2 cores within the bound
SETTLE_TIMEOUT = 240.0

LIFTED = {
    # The API as an operator would open it for a bulk import.
    "API_THROTTLE_RATE": "",  # empty: throttling off
    "API_MAX_ACTIVE_COURSES_PER_KEY": "0",  # 0: no cap on courses pending or in progress
    # Limits far above what 500 courses need: the fake GitHub enforces no secondary limit unless
    # configured, and the fake Discord's global limit is raised to match (see below).
    "GITHUB_WRITE_BUDGET": "100000/60",
    "DISCORD_GLOBAL_LIMIT": "2000",
    # A run is not presumed dead, nor its message redelivered, just because the machine is busy:
    # the chaos test covers those paths with short leases; here they would only add noise.
    "PROVISIONING_LEASE_SECONDS": "120",
    "CELERY_VISIBILITY_TIMEOUT": "900",
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
}


def register_servers(platforms: Platforms, count: int) -> None:
    """Staff make ``count`` servers with the bot in them; register them in one INSERT.

    ``Platforms.add_servers`` does the same one row at a time, which is slower for 500.
    """
    guilds = [platforms.control.create_guild(name=f"Staff server {n}") for n in range(count)]
    DiscordServer.objects.bulk_create(
        DiscordServer(guild_id=guild["id"], name=guild["name"]) for guild in guilds
    )


def lecture(number: int) -> dict[str, str]:
    return {"name": f"Load lecture {number}", "semester": "2026-fall", "type": "LECTURE"}


def post_courses(server: ApiServer) -> tuple[Counter[int], list[str], list[str]]:
    """``CLIENTS`` threads, each with its own session, share ``COURSES`` POSTs.

    Returns the status codes, the ids of accepted courses, and any transport failure.
    """
    numbers = iter(range(COURSES))
    lock = threading.Lock()
    statuses: Counter[int] = Counter()
    accepted: list[str] = []
    failures: list[str] = []

    def client() -> None:
        with requests.Session() as session:
            session.headers["x-api-key"] = API_KEY
            while True:
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                try:
                    response = session.post(
                        server.url + "/courses", json=lecture(number), timeout=60
                    )
                except requests.RequestException as exc:
                    with lock:
                        failures.append(f"course {number}: {exc!r}")
                    continue
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code == 202:
                        accepted.append(response.json()["id"])
                    elif response.status_code >= 500:
                        failures.append(f"course {number}: {response.status_code} {response.text}")

    threads = [threading.Thread(target=client, name=f"client-{n}") for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, accepted, failures


def test_five_hundred_posts_from_25_clients_all_complete(
    worker_env: dict[str, str], platforms: Platforms, tmp_path: Path
) -> None:
    started = time.monotonic()
    env = {**worker_env, **LIFTED}
    platforms.control.configure(discord={"global_limit": 2500})
    register_servers(platforms, COURSES)
    workers = []
    for number in range(1, WORKERS + 1):
        args = [*WORKER_ARGS, "--hostname", f"load{number}@%h"]
        args[args.index("--concurrency") + 1] = CONCURRENCY
        args[args.index("--loglevel") + 1] = "WARNING"
        workers.append(Worker(env, tmp_path / f"worker{number}.log", args))
    for process in workers:
        process.start()
    try:
        with serve_api(env, tmp_path / "gunicorn.log", workers=3) as server:
            posted = time.monotonic()
            statuses, accepted, failures = post_courses(server)
            print(f"{COURSES} POSTs in {time.monotonic() - posted:.1f}s: {dict(statuses)}")

            assert failures == [], failures[:10]
            assert not any(status >= 500 for status in statuses)
            assert statuses == Counter({202: COURSES})  # throttle and cap are off
            assert len(set(accepted)) == COURSES

            def settled() -> bool:
                done = Course.objects.filter(id__in=accepted, status__in=Course.TERMINAL)
                return done.count() == len(accepted)

            wait_for(settled, SETTLE_TIMEOUT, f"{COURSES} courses to settle", workers[0])
            print(f"all settled {time.monotonic() - started:.1f}s after the test started")
    finally:
        for process in workers:
            process.stop()

    statuses_in_db = Counter(
        Course.objects.filter(id__in=accepted).values_list("status", flat=True)
    )
    assert statuses_in_db == Counter({Course.Status.COMPLETED: COURSES}), [
        w.tail() for w in workers
    ]
    state = platforms.state()
    assert_no_duplicates(state)
    repos = state["github"]["repos"]
    assert len(repos) == COURSES
    assert all(set(repo["files"]) == SEEDED_FILES for repo in repos.values())
    print(f"whole test {time.monotonic() - started:.1f}s")
