"""A semester's import: the plan's time estimate against the measured time, at the bench's limits.

What runs (the set-up of ``provisioning_bench.py``, whose scaled limits it imports):
- The sandbox in this process, every call delayed ``LATENCY_MS``, GitHub's secondary limit
  scaled down to ``GITHUB_LIMIT`` writes per ``GITHUB_WINDOW`` seconds.
- A scratch database ``<NAME>_import_bench`` on the PostgreSQL server of ``DATABASE_URL``
  (dropped at the end), and ``BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/10``; FLUSHED
  first) as broker and shared rate-limit store.
- ``WORKERS`` Celery workers of ``CONCURRENCY`` children, gunicorn serving the API.
- ``ROWS`` courses in one CSV (lectures, three 2-group laboratories, 7 bad rows), a pool with
  ``SERVERS`` servers: ``POST /imports?dryRun=true`` for the plan, then ``POST /imports``.

Prints: the plan's figures (rows refused, servers, GitHub writes, Discord calls, the estimate),
the measured time (the apply's POST to the import's end), and measured / estimate. The estimate
is the least time the budget allows, with no latency: the measured time should stay within 15%
of it. Asserts nothing. Usage: ``DATABASE_URL=postgres://... python benchmarks/import_bench.py``.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import redis
import requests
from provisioning_bench import (
    CONCURRENCY,
    GITHUB_LIMIT,
    GITHUB_SECONDS_BETWEEN_WRITES,
    GITHUB_WINDOW,
    GITHUB_WRITE_BUDGET,
    LATENCY_MS,
    ORG,
)
from scratch import drop_database, scratch_database, workers_and_api

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "200"))
SERVERS = ROWS  # enough for every valid row
MAX_SECONDS = 1800.0
BAD = {
    7: "Bad Semester,2026-autumn,lecture,,",
    23: "Bad Type,2026-fall,seminar,,",
    51: ",2026-fall,lecture,,",
    88: "Lecture Groups,2026-fall,lecture,Monday;Thursday,",
    120: "Bad Guild,2026-fall,lecture,,123",
    150: "Course 0012!,2026-fall,lecture,,",
    199: "Course 0013,2026-fall,lecture,,",
}
LABORATORIES = {40, 80, 160}


def semester_csv() -> str:
    lines = ["name,semester,type,groups,discordGuildId"]
    for line in range(2, ROWS + 2):
        if line in BAD:
            lines.append(BAD[line])
        elif line in LABORATORIES:
            lines.append(f"Lab {line:04d},2026-fall,laboratory,Monday;Thursday,")
        else:
            lines.append(f"Course {line - 1:04d},2026-fall,lecture,,")
    return "\n".join(lines) + "\n"


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("import_bench: set DATABASE_URL=postgres://USER@HOST:5432/NAME")
    broker = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
    db_url, admin = scratch_database(url, "import_bench")
    try:
        run(db_url, broker)
    finally:
        drop_database(admin, db_url)


def run(db_url: str, broker: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL=db_url,
        CELERY_BROKER_URL="",
        RATE_LIMIT_REDIS_URL="",
        GITHUB_WRITE_BUDGET=GITHUB_WRITE_BUDGET,  # the plan here estimates with the workers' own
        GITHUB_SECONDS_BETWEEN_WRITES=GITHUB_SECONDS_BETWEEN_WRITES,
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command

    from provisioning.models import DiscordServer
    from sandbox.control_client import SandboxControl
    from sandbox.server import RunningSandbox

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(broker).flushdb()
    logs = Path(tempfile.mkdtemp(prefix="import-bench-"))
    key = "bench-" + secrets.token_urlsafe(24)

    with RunningSandbox() as sandbox:
        control = SandboxControl(sandbox.url)
        control.create_org(ORG, plan="team")
        control.configure(
            github={"secondary_limit": {"requests": GITHUB_LIMIT, "window": GITHUB_WINDOW}}
        )
        guilds = [control.create_guild(name=f"Staff server {n}") for n in range(SERVERS)]
        DiscordServer.objects.bulk_create(
            DiscordServer(guild_id=guild["id"], name=guild["name"]) for guild in guilds
        )
        control.set_faults(latency_ms=LATENCY_MS)
        env = {
            **os.environ,
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "CELERY_BROKER_URL": broker,
            "RATE_LIMIT_REDIS_URL": broker,
            "INTEGRATIONS_MODE": "sandbox",
            "DISCORD_API_URL": sandbox.discord_api_url,
            "GITHUB_API_URL": sandbox.github_api_url,
            "GITHUB_ORG": ORG,
            "GITHUB_TOKEN": "sandbox-github-token",
            "DISCORD_BOT_TOKEN": "sandbox-discord-token",
            "API_KEY": key,
            "API_THROTTLE_RATE": "",
            "API_MAX_ACTIVE_COURSES_PER_KEY": "0",
        }
        with workers_and_api(
            env, logs, concurrency=CONCURRENCY, name="ib", gunicorn_args=[]
        ) as base:
            headers = {"x-api-key": key, "Content-Type": "text/csv"}
            content = semester_csv().encode()
            plan = requests.post(
                f"{base}/imports?dryRun=true", data=content, headers=headers, timeout=60
            ).json()
            print(
                f"plan: {plan['validRows']} valid, {plan['invalidRows']} refused "
                f"(lines {sorted({e['line'] for e in plan['errors']})}); servers "
                f"{plan['serversNeeded']} needed / {plan['serversAvailable']} available; "
                f"{plan['githubWrites']} GitHub writes, {plan['discordCalls']} Discord calls; "
                f"{plan['estimate']}",
                flush=True,
            )
            started = time.time()
            applied = requests.post(f"{base}/imports", data=content, headers=headers, timeout=600)
            record = applied.json()
            status = record["status"]
            last = 0.0
            while status in ("APPLYING", "PROVISIONING") and time.time() - started < MAX_SECONDS:
                time.sleep(1.0)
                record = requests.get(
                    f"{base}/imports/{record['id']}", headers=headers, timeout=60
                ).json()
                status = record["status"]
                if time.time() - last >= 30:
                    print(f"  {time.time() - started:6.1f}s  {record['counts']}", flush=True)
                    last = time.time()
            measured = time.time() - started
    courses = record["counts"]["courses"]
    estimate = plan["estimatedSeconds"]
    print(f"import {status}: {courses}")
    print(
        f"measured {measured:.1f} s, estimate {estimate:.1f} s: ratio "
        f"{measured / estimate:.2f} (within 15%: {abs(measured / estimate - 1) <= 0.15})"
    )


if __name__ == "__main__":
    main()
