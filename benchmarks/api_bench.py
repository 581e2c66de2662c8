"""API throughput and latency: POST /courses, GET /courses/{id}/status and, as the baseline of the
same run, GET /health, at 1, 10 and 50 clients.

What runs:
- A scratch database ``<NAME>_api_bench`` is created on the PostgreSQL server of ``DATABASE_URL``
  (so its own data is untouched; needs CREATEDB), migrated, and dropped at the end.
- gunicorn serves ``config.wsgi`` on a free loopback port: sync workers, cores + 1 of them
  (``BENCH_API_WORKERS`` to try another number). Not gunicorn's 2 x cores + 1, meant for
  workers that wait: these requests keep a core busy (PostgreSQL on loopback answers within a
  millisecond), and on 2 cores 5 processes cost each create 0.4-1.1 ms more of the machine's
  CPU than 3 (measured here, docs/benchmarks.md). Sync workers, not production's gthread
  (config/gunicorn.py), measured apart in docs/benchmarks.md.
  Base settings with DEBUG off, persistent database connections (CONN_MAX_AGE=60, as in
  production), throttling and the active-course cap switched off.
- Provisioning tasks are NOT executed: ``CELERY_BROKER_URL=memory://`` makes each gunicorn worker
  queue the task message in its own memory, where no worker consumes it. The figures are the
  API's own cost (validation, the course, its lab groups and planned steps, the enqueue), not the
  platforms'.
- Clients are threads of this process, one new connection per request (gunicorn's sync workers do
  not keep connections alive), on the same machine: they share its cores with the server.
- ``WARMUP`` creates come first, and the database is analyzed before each create measurement
  (``tables_analyze``): the planner's statistics a live database has.

After the three levels, ``SEMESTER_COURSES`` more courses are written straight into the
database (one INSERT) and ``POST /courses`` is measured again at 10 clients: what a create costs
once the semester holds thousands of courses (the clash check must not read them all).

Each measurement sends a bounded number of requests (``REQUESTS`` or ``PER_CLIENT`` x clients,
whichever is larger) and stops early after ``MAX_SECONDS``; only 127.0.0.1 is contacted. A
thousand requests give a p99 that is the 10th slowest, not the 2nd: one stall of the machine
(seen here: every request in flight slowed by 50 ms at once, now and then) moves it less.

``cpu ms`` is the machine's busy CPU time during the measurement (every process: gunicorn,
PostgreSQL, the clients; from /proc/stat, Linux only) per request: what a request costs, steadier
from run to run than its latency on a shared machine, where the same code ran 1.7 times faster
or slower an hour apart. With every core busy, cores x 1000 / cpu ms is the most requests a
second the machine can serve.

Prints a table; asserts nothing. Usage: ``DATABASE_URL=postgres://... make bench-api``.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from scratch import answers, drop_database, free_port, process, scratch_database, wait_until

ROOT = Path(__file__).resolve().parents[1]
LEVELS = (1, 10, 50)
REQUESTS = 1000  # per measurement, at least
PER_CLIENT = 10  # requests per client, at least (so that 50 clients make 500)
MAX_SECONDS = 30.0  # per measurement, at most
WARMUP = 300  # creates before the first measurement: enough for the planner to use indexes
SEMESTER_COURSES = 5000
SETTINGS = """\
from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 60
"""


@dataclass
class Measurement:
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0
    cpu: float = float("nan")  # the machine's busy CPU seconds during the measurement


def machine_busy_seconds() -> float:
    """CPU time the machine spent on anything but idling since it started (NaN off Linux)."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return float("nan")
    idle, iowait = ticks[3], ticks[4]
    return (sum(ticks[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def request(method: str, url: str, key: str, body: dict | None = None) -> tuple[int, bytes, float]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("x-api-key", key)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            payload, status = response.read(), response.status
    except urllib.error.HTTPError as exc:
        payload, status = exc.read(), exc.code
    return status, payload, time.perf_counter() - start


def measure(clients: int, make_call, expected: int) -> tuple[Measurement, list[bytes]]:
    """``clients`` threads share a budget of requests; each call is timed on its own."""
    total = max(REQUESTS, PER_CLIENT * clients)
    result, bodies, lock = Measurement(), [], threading.Lock()
    counter = iter(range(total))
    deadline = time.monotonic() + MAX_SECONDS

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            status, payload, latency = make_call(index)
            with lock:
                if status == expected:
                    result.latencies.append(latency)
                    bodies.append(payload)
                else:
                    result.errors[status] = result.errors.get(status, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    busy, start = machine_busy_seconds(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.elapsed = time.perf_counter() - start
    result.cpu = machine_busy_seconds() - busy
    return result, bodies


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def row(name: str, clients: int, m: Measurement) -> str:
    done = len(m.latencies)
    errors = sum(m.errors.values())
    throughput = done / m.elapsed if m.elapsed else 0.0
    p50 = percentile(m.latencies, 50) * 1000
    p99 = percentile(m.latencies, 99) * 1000
    mean = statistics.fmean(m.latencies) * 1000 if m.latencies else float("nan")
    cpu = m.cpu / (done + errors) * 1000 if done + errors else float("nan")
    error_text = ", ".join(f"{code}x{n}" for code, n in sorted(m.errors.items())) or "-"
    return (
        f"{name:<28} {clients:>7} {done + errors:>8} {throughput:>9.1f} "
        f"{p50:>8.1f} {p99:>8.1f} {mean:>8.1f} {cpu:>7.1f}  {error_text if errors else '-'}"
    )


def laboratory(label: str, index: int) -> dict:
    return {
        "name": f"Bench {label} {index}",
        "semester": "2026-fall",
        "type": "LABORATORY",
        "labGroups": [{"name": "Monday", "number": 1}, {"name": "Tuesday", "number": 2}],
    }


def semester_fill(db_url: str, count: int) -> None:
    """``count`` provisioned lectures of the bench's semester, in one INSERT, then ANALYZE (as
    autovacuum would soon do): the table a semester start works against."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO courses_course (id, name, semester, slug, type, status, priority, "
            "github_org, discord_guild_id, created_at, updated_at) "
            "SELECT gen_random_uuid(), 'Filler ' || n, '2026-fall', '2026-fall-filler-' || n, "
            "'LECTURE', 'COMPLETED', 'normal', '', '', now(), now() "
            "FROM generate_series(1, %s) AS n",
            [count],
        )
        conn.execute("ANALYZE courses_course")


def tables_analyze(db_url: str) -> None:
    """Fresh statistics for the planner, as a live database keeps them (autovacuum analyzes a
    table once a tenth of it changed, within a minute).

    The bench adds a thousand courses in a few seconds, faster than autovacuum looks. The plans
    PostgreSQL keeps for each connection's foreign-key checks (of a lab group, an operation and
    a step to their course, of a step to its operation) are made from the statistics of their
    first use: made while a table has a few pages they scan it whole, and every create cost more
    than the last (seen here: PostgreSQL's CPU per create 1.2 -> 1.6 -> 2.2 ms over the first
    2,500 courses, 1.0 once the table was analyzed). The ``WARMUP`` creates make the tables big
    enough (about 300 courses) for the planner to choose their primary keys' indexes."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("api_bench: set DATABASE_URL=postgres://USER@HOST:5432/NAME (PostgreSQL)")
    db_url, admin = scratch_database(url, "api_bench")
    key = "bench-" + secrets.token_urlsafe(24)
    workers = int(os.environ.get("BENCH_API_WORKERS") or (os.cpu_count() or 1) + 1)
    settings_dir = Path(tempfile.mkdtemp())
    (settings_dir / "api_bench_settings.py").write_text(SETTINGS)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(settings_dir)]),
        "DJANGO_SETTINGS_MODULE": "api_bench_settings",
        "DATABASE_URL": db_url,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CELERY_BROKER_URL": "memory://",  # queued in the web process, never executed
        "RATE_LIMIT_REDIS_URL": "",
        "API_KEY": key,
        "API_THROTTLE_RATE": "",
        "API_MAX_ACTIVE_COURSES_PER_KEY": "0",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = settings_dir / "gunicorn.log"
    gunicorn = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--backlog",
        "256",
        "--log-level",
        "warning",
    ]
    try:
        with process(gunicorn, env, log):
            wait_until(lambda: answers(base + "/health"), 30, "answer from gunicorn", log)

            print(
                f"gunicorn: {workers} sync workers on {os.cpu_count()} cores, PostgreSQL "
                f"{urllib.parse.urlsplit(db_url).hostname}, tasks queued but not executed "
                "(memory://)\n"
            )
            print(
                f"{'endpoint':<28} {'clients':>7} {'requests':>8} {'req/s':>9} "
                f"{'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'cpu ms':>7}  errors"
            )
            course_ids: list[str] = []
            for label in ("warmup", *map(str, LEVELS)):
                clients = 4 if label == "warmup" else int(label)
                if label == "warmup":
                    for index in range(WARMUP):
                        request("POST", base + "/courses", key, laboratory("warmup", index))
                    continue
                tables_analyze(db_url)
                result, bodies = measure(
                    clients,
                    lambda i, label=label: request(
                        "POST", base + "/courses", key, laboratory(label, i)
                    ),
                    expected=202,
                )
                course_ids += [json.loads(body)["id"] for body in bodies]
                print(row("POST /courses", clients, result))
            semester_fill(db_url, SEMESTER_COURSES)
            result, _ = measure(
                10,
                lambda i: request("POST", base + "/courses", key, laboratory("full", i)),
                expected=202,
            )
            print(row(f"  +{SEMESTER_COURSES:,} in the semester", 10, result))
            for clients in LEVELS:
                result, _ = measure(
                    clients,
                    lambda i: request(
                        "GET", f"{base}/courses/{course_ids[i % len(course_ids)]}/status", key
                    ),
                    expected=200,
                )
                print(row("GET /courses/{id}/status", clients, result))
            # The baseline of this machine and run: a request that does almost nothing (the
            # health check's one query and broker ping), through the same server and clients.
            for clients in LEVELS:
                result, _ = measure(
                    clients, lambda i: request("GET", f"{base}/health", key), expected=200
                )
                print(row("GET /health (baseline)", clients, result))
    finally:
        drop_database(admin, db_url)


if __name__ == "__main__":
    main()
