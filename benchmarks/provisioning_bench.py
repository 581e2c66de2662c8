"""Provisioning against the platforms' limits: wall time against the bound the limits impose.

What runs:
- The sandbox in this process, every Discord and GitHub call delayed ``LATENCY_MS``, GitHub's
  secondary limit scaled down to ``GITHUB_LIMIT`` content-creating requests per
  ``GITHUB_WINDOW`` seconds, Discord's limits as the sandbox has them.
- A scratch database ``<NAME>_provisioning_bench`` on the PostgreSQL server of ``DATABASE_URL``
  (needs CREATEDB; dropped at the end), and ``BENCH_REDIS_URL`` (default
  ``redis://127.0.0.1:6379/14``; FLUSHED first) as broker and shared rate-limit store.
- ``WORKERS`` Celery worker processes of ``CONCURRENCY`` children, and gunicorn serving the API
  (throttling and the per-key course cap off: this is a bulk import).
- Through ``POST /courses``: ``LECTURES`` lectures and ``LABORATORIES`` laboratories of
  ``GROUPS`` groups, with a pool of staff-made servers, under our ``GITHUB_WRITE_BUDGET`` and
  ``GITHUB_SECONDS_BETWEEN_WRITES``.

:func:`bound` is the least wall time the sandbox's limits allow (the derivation, and why the
budget keeps a margin under the limit, are in docs/benchmarks.md, with past figures).

Prints: wall time (first POST to last course COMPLETED), the bound, their ratio; the mean time
for a course to be ready (first POST to its COMPLETED) against the best possible schedule's mean
(:func:`best_ready`: the courses served in the order they were created, each as early as the
sandbox's window allows; the shortest-first schedule's mean too, for reference); reads and writes
per course type (from the audit log, whose rows carry the course) against the minimum the steps
need, the 429s and secondary-limit answers the sandbox gave; writes
``artifacts/bench/provisioning.png``: completed courses and GitHub writes over time against the
best possible curves (in creation order, and shortest first), and the sandbox's request log
beside it (``provisioning-requests.json``, times in ``t`` from the first POST). Asserts nothing.

``BENCH_PROTECTION_MODE`` (``branch``, the default, or ``ruleset``) is the workers'
``GITHUB_PROTECTION_MODE``: in ruleset mode one organization ruleset per semester (and
organization) replaces each repository's protection write, so a repository costs 4 GitHub writes
instead of 5, plus one write per semester, and the bound counts them so.
Usage: ``DATABASE_URL=postgres://... make bench`` (``BENCH_PROTECTION_MODE=ruleset make bench``).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import requests
from scratch import drop_database, scratch_database, workers_and_api

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LECTURES, LABORATORIES, GROUPS = 40, 10, 4
LATENCY_MS = 50
GITHUB_LIMIT, GITHUB_WINDOW = 20, 10.0  # the sandbox's secondary limit
GITHUB_WRITE_BUDGET = "20/10.5"  # ours: the sandbox's count, over a window 0.5 s longer
# With the budget, any 21 writes span at least 10.5 s of booked time, so a request may arrive
# up to 0.5 s late (a busy CPU) without making 21 in any 10 s at the sandbox. Writes at least
# this far apart: the oldest course, back from its reads, takes the next slot (docs/benchmarks.md).
GITHUB_SECONDS_BETWEEN_WRITES = "0.4"
DISCORD_GLOBAL = 50  # the sandbox's global limit per second (its default)
WORKERS, CONCURRENCY = 2, 4
CLIENTS = 5  # threads posting the courses
MAX_SECONDS = 900.0  # give up waiting after this long
ORG = "bench-university"
# BENCH_ORGS=2: the same batch split over two organizations, each with its GitHub App
# installation and so its own budgets (every other course names the second one). The bound
# printed stays the one-organization bound: compare the wall time with a BENCH_ORGS=1 run.
ORGS = int(os.environ.get("BENCH_ORGS", "1"))
SECOND_ORG = "bench-physics"
SEMESTER = "2026-fall"  # every course's: one ruleset per organization in ruleset mode
PROTECTION_MODE = os.environ.get("BENCH_PROTECTION_MODE", "branch")
if PROTECTION_MODE not in ("branch", "ruleset"):
    sys.exit(
        f"provisioning_bench: BENCH_PROTECTION_MODE is branch or ruleset, not {PROTECTION_MODE!r}"
    )
# A ruleset run keeps its own plot and log, so both modes' can be compared side by side.
_SUFFIX = "" if PROTECTION_MODE == "branch" else "-ruleset"
PLOT = ROOT / "artifacts" / "bench" / f"provisioning{_SUFFIX}.png"
REQUEST_LOG = PLOT.with_name(f"provisioning{_SUFFIX}-requests.json")  # for a closer look
# GitHub writes per repository: the create, a tree, a commit, the ref moved, then (branch mode)
# the protection. In ruleset mode the semester's ruleset protects the repository instead: one
# write per semester and organization, made by the first course to reach its protection step.
REPOSITORY_WRITES = 5 if PROTECTION_MODE == "branch" else 4
RULESET_WRITES = ORGS if PROTECTION_MODE == "ruleset" else 0
# What the steps cannot do without, per course type: (discord reads, discord writes,
# github reads, github writes). Discord: the server, the bot user and its member (access and
# permissions), one listing of channels (and of roles) to adopt what exists, the rename, one
# POST per channel (and role). GitHub: per repository the create, then the head ref and commit
# read, and REPOSITORY_WRITES writes. The semester's ruleset calls are counted apart.
MINIMUM = {
    "LECTURE": (4, 1 + 4, 2, REPOSITORY_WRITES),
    "LABORATORY": (5, 1 + 2 * GROUPS, 2 * GROUPS, REPOSITORY_WRITES * GROUPS),
}
# Calls before a lecture's first GitHub write arrives: its 9 Discord calls and the write itself.
LEAD_CALLS = MINIMUM["LECTURE"][0] + MINIMUM["LECTURE"][1] + 1


@dataclass(frozen=True)
class Bound:
    github_writes: int
    discord_calls: int
    lead: float
    github: float  # seconds between the first and the last write, at the least
    discord: float
    budget: float  # the same as ``github`` under our own budget

    @property
    def total(self) -> float:
        return self.lead + max(self.github, self.discord)


def bound() -> Bound:
    """The least wall time the sandbox's limits allow: the lead-in, then the slower of GitHub's
    sliding window over every write and Discord's global limit over every call."""
    writes = (
        LECTURES * MINIMUM["LECTURE"][3] + LABORATORIES * MINIMUM["LABORATORY"][3] + RULESET_WRITES
    )
    discord = sum(
        count * (MINIMUM[kind][0] + MINIMUM[kind][1])
        for kind, count in (("LECTURE", LECTURES), ("LABORATORY", LABORATORIES))
    )
    budget_limit, _, budget_window = GITHUB_WRITE_BUDGET.partition("/")
    return Bound(
        github_writes=writes,
        discord_calls=discord,
        lead=LEAD_CALLS * LATENCY_MS / 1000,
        github=(math.ceil(writes / GITHUB_LIMIT) - 1) * GITHUB_WINDOW,
        discord=discord / DISCORD_GLOBAL,
        budget=_paced(writes - 1, int(budget_limit), float(budget_window)),
    )


def _paced(k: int, limit: int, window: float) -> float:
    """When our budget lets write ``k`` (from 0) go at the earliest: ``limit`` per ``window``,
    ``GITHUB_SECONDS_BETWEEN_WRITES`` apart within a window."""
    return k // limit * window + k % limit * float(GITHUB_SECONDS_BETWEEN_WRITES)


def best_writes(t: float, b: Bound) -> int:
    """GitHub writes that can have arrived by ``t`` (seconds after the first POST)."""
    if t < b.lead:
        return 0
    return min(b.github_writes, GITHUB_LIMIT * (int((t - b.lead) // GITHUB_WINDOW) + 1))


def best_completed(t: float, b: Bound) -> int:
    """Courses that can be complete by ``t``: the writes so far, cheapest courses first (the
    semester's ruleset, in ruleset mode, before any of them)."""
    writes = max(0, best_writes(t, b) - RULESET_WRITES)
    lecture, laboratory = MINIMUM["LECTURE"][3], MINIMUM["LABORATORY"][3]
    lectures = min(LECTURES, writes // lecture)
    rest = writes - lectures * lecture
    return lectures + (min(LABORATORIES, rest // laboratory) if lectures == LECTURES else 0)


def best_ready(kinds: list[str], created: list[float], b: Bound) -> list[float]:
    """The earliest each course can be ready, courses served in the given order: course k needs
    the writes of every course before it and its own, at most ``GITHUB_LIMIT`` per window, and
    cannot start before it was created (``created``: seconds after the first POST); the first
    course also writes the semester's ruleset, in ruleset mode."""
    ready, writes = [], RULESET_WRITES
    for kind, at in zip(kinds, created, strict=True):
        writes += MINIMUM[kind][3]
        window = (writes - 1) // GITHUB_LIMIT * GITHUB_WINDOW
        ready.append(b.lead + max(at, window))
    return ready


# -- the run -----------------------------------------------------------------------------------
def course_body(number: int) -> dict[str, Any]:
    body: dict[str, Any] = {"name": f"Bench course {number}", "semester": SEMESTER}
    if ORGS == 2 and number % 2:
        body["githubOrg"] = SECOND_ORG
    if number % 5 == 4:
        groups = [{"name": f"Group {n}", "number": n} for n in range(1, GROUPS + 1)]
        return {**body, "type": "LABORATORY", "labGroups": groups}
    return {**body, "type": "LECTURE"}


def post_courses(base: str, key: str) -> tuple[list[str], Counter[int]]:
    numbers = iter(range(LECTURES + LABORATORIES))
    lock = threading.Lock()
    ids: list[str] = []
    statuses: Counter[int] = Counter()

    def client() -> None:
        with requests.Session() as session:
            session.headers["x-api-key"] = key
            while True:
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                response = session.post(f"{base}/courses", json=course_body(number), timeout=30)
                with lock:
                    statuses[response.status_code] += 1
                    if response.status_code == 202:
                        ids.append(response.json()["id"])

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ids, statuses


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        sys.exit("provisioning_bench: set DATABASE_URL=postgres://USER@HOST:5432/NAME")
    broker = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    db_url, admin = scratch_database(url, "provisioning_bench")
    try:
        run(db_url, broker)
    finally:
        drop_database(admin, db_url)


def run(db_url: str, broker: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL=db_url,
        CELERY_BROKER_URL="",  # this process enqueues nothing
        RATE_LIMIT_REDIS_URL="",
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
    logs = Path(tempfile.mkdtemp(prefix="provisioning-bench-"))
    key = "bench-" + secrets.token_urlsafe(24)

    with RunningSandbox() as sandbox:
        control = SandboxControl(sandbox.url)
        control.create_org(ORG, plan="team")
        control.configure(
            github={"secondary_limit": {"requests": GITHUB_LIMIT, "window": GITHUB_WINDOW}}
        )
        app_env = _github_app(control) if ORGS == 2 else {}
        guilds = [control.create_guild(name=f"Staff server {n}") for n in range(50)]
        DiscordServer.objects.bulk_create(
            DiscordServer(guild_id=guild["id"], name=guild["name"]) for guild in guilds
        )
        control.set_faults(latency_ms=LATENCY_MS)
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
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
            "GITHUB_WRITE_BUDGET": GITHUB_WRITE_BUDGET,
            "GITHUB_SECONDS_BETWEEN_WRITES": GITHUB_SECONDS_BETWEEN_WRITES,
            "GITHUB_PROTECTION_MODE": PROTECTION_MODE,
            "API_KEY": key,
            "API_THROTTLE_RATE": "",
            "API_MAX_ACTIVE_COURSES_PER_KEY": "0",
            "LOG_LEVEL": "WARNING",
            **app_env,
        }
        with workers_and_api(
            env,
            logs,
            concurrency=CONCURRENCY,
            name="bench",
            gunicorn_args=["--log-level", "warning"],
        ) as base:
            started = time.time()
            ids, statuses = post_courses(base, key)
            posted = time.time() - started
            finished = wait_settled(ids, started)
        state = control.state()
        received = control.requests()

    report(ids, statuses, posted, started, finished, state, received, logs)


def _github_app(control: Any) -> dict[str, str]:
    """Install a GitHub App (a key pair made here) on both organizations; the workers' env."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    control.create_org(SECOND_ORG, plan="team")
    control.configure(github={"app": {"id": 4242, "public_key": public.decode()}})
    return {"GITHUB_APP_ID": "4242", "GITHUB_APP_PRIVATE_KEY": private}


def wait_settled(ids: list[str], started: float) -> float:
    from courses.models import Course

    done = Course.TERMINAL
    last_print = 0.0
    while time.time() - started < MAX_SECONDS:
        settled = Course.objects.filter(id__in=ids, status__in=done).count()
        if time.time() - last_print >= 15:
            print(f"  {time.time() - started:6.1f}s  {settled}/{len(ids)} settled", flush=True)
            last_print = time.time()
        if settled == len(ids):
            break
        time.sleep(0.25)
    return time.time()


def report(
    ids: list[str],
    statuses: Counter[int],
    posted: float,
    started: float,
    finished: float,
    state: dict[str, Any],
    log: list[dict[str, Any]],
    logs: Path,
) -> None:
    from audit.models import AuditLog
    from courses.models import Course

    courses = list(
        Course.objects.filter(id__in=ids)
        .order_by("created_at")
        .values("id", "type", "status", "created_at", "updated_at")
    )
    outcome = Counter(course["status"] for course in courses)
    completed = sorted(
        course["updated_at"].timestamp() - started
        for course in courses
        if course["status"] == Course.Status.COMPLETED
    )
    wall = completed[-1] if len(completed) == len(ids) else finished - started
    b = bound()

    print(
        f"\n{LECTURES} lectures + {LABORATORIES} laboratories of {GROUPS} groups through the API "
        f"({dict(statuses)} in {posted:.1f}s); {WORKERS} workers x {CONCURRENCY}; sandbox "
        f"{LATENCY_MS} ms a call, GitHub {GITHUB_LIMIT} writes / {GITHUB_WINDOW:.0f}s, our budget "
        f"{GITHUB_WRITE_BUDGET}"
    )
    print(
        f"protection mode: {PROTECTION_MODE} ({REPOSITORY_WRITES} GitHub writes per repository"
        + (f", plus {RULESET_WRITES} ruleset write(s) for the semester)" if RULESET_WRITES else ")")
    )
    print(f"courses: {dict(outcome)}   (logs in {logs})")
    print(f"wall time (first POST to last COMPLETED): {wall:8.1f} s")
    print(
        f"bound: {b.total:8.1f} s   = lead {b.lead:.1f} s + GitHub {b.github:.0f} s "
        f"({b.github_writes} writes in {PROTECTION_MODE} mode, {GITHUB_LIMIT} per "
        f"{GITHUB_WINDOW:.0f} s); Discord needs "
        f"{b.discord:.0f} s ({b.discord_calls} calls, {DISCORD_GLOBAL}/s); our budget "
        f"{GITHUB_WRITE_BUDGET} alone: {b.lead + b.budget:.1f} s"
    )
    print(f"ratio wall / bound:                        {wall / b.total:8.3f}   (goal <= 1.10)")
    created = [course["created_at"].timestamp() - started for course in courses]
    in_order = best_ready([course["type"] for course in courses], created, b)
    shortest = best_ready(
        sorted((course["type"] for course in courses), key=lambda kind: MINIMUM[kind][3]),
        [0.0] * len(courses),
        b,
    )
    mean = sum(completed) / len(completed) if completed else float("nan")
    best_mean, shortest_mean = sum(in_order) / len(in_order), sum(shortest) / len(shortest)
    print(
        f"mean ready time: {mean:6.1f} s; best possible in creation order {best_mean:.1f} s, "
        f"shortest first {shortest_mean:.1f} s"
    )
    print(f"ratio mean ready / best mean:              {mean / best_mean:8.3f}   (goal <= 1.15)")
    print(f"ratio mean ready / shortest-first mean:    {mean / shortest_mean:8.3f}")

    kinds = {str(course["id"]): course["type"] for course in courses}
    per_type: dict[str, Counter[str]] = {kind: Counter() for kind in MINIMUM}
    semester: Counter[str] = Counter()  # the ruleset's calls, whichever course made them
    rows = AuditLog.objects.filter(course_id__in=ids).values_list(
        "course_id", "provider", "method", "route", "response_status"
    )
    for course_id, provider, method, route, status in rows:
        what = "read" if method == "GET" else "write"
        counter = semester if "/rulesets" in route else per_type[kinds[str(course_id)]]
        counter[f"{provider} {what}"] += 1
        if status in (403, 429):
            counter[f"{provider} refused"] += 1
    print(f"\n{'per course':<22} {'discord r/w':>14} {'github r/w':>14} {'minimum r/w':>22}")
    for kind, counter in per_type.items():
        count = sum(1 for value in kinds.values() if value == kind) or 1
        dr, dw, gr, gw = (
            counter[f"{p} {w}"] / count for p in ("discord", "github") for w in ("read", "write")
        )
        low = MINIMUM[kind]
        label = "lecture" if kind == "LECTURE" else f"laboratory, {GROUPS} groups"
        print(
            f"{label:<22} {dr:>6.2f}/{dw:<7.2f} {gr:>6.2f}/{gw:<7.2f} "
            f"{low[0]:>4}/{low[1]:<3} {low[2]:>4}/{low[3]:<3}"
        )
    if PROTECTION_MODE == "ruleset":
        print(
            f"{'semester ruleset':<22} {'':>14} {semester['github read']:>6}/"
            f"{semester['github write']:<7} {'':>8} {RULESET_WRITES:>4}/{RULESET_WRITES:<3}"
            f"   (refused: {semester['github refused']})"
        )

    github, discord = state["github"]["counters"], state["discord"]["counters"]
    print(
        f"\nGitHub secondary-limit answers: {github['secondary_limited']}   primary-limit: "
        f"{github['primary_limited']}   writes accepted: {github['writes']}"
    )
    print(
        f"Discord 429s: {discord['rate_limited']} (route {discord['rate_limited_user']}, "
        f"global {discord['rate_limited_global']})"
    )
    writes = sorted(
        entry["time"] - started
        for entry in log
        if entry["provider"] == "github"
        and entry["method"] != "GET"
        and entry["status"] is not None
        and entry["status"] < 400
    )
    refused = [
        f"{entry['time'] - started:.1f}"
        for entry in log
        if entry["provider"] == "github" and entry["status"] in (403, 429)
    ]
    if refused:
        print(f"GitHub refusals at (s): {', '.join(refused)}")
    first_call = min(entry["time"] for entry in log) - started
    print(f"first platform call at {first_call:.2f} s")
    if writes:
        print(
            f"GitHub writes: first at {writes[0]:.1f} s, last at {writes[-1]:.1f} s: "
            f"{len(writes)} in {writes[-1] - writes[0]:.1f} s (at least {b.github:.0f} s)"
        )
    REQUEST_LOG.parent.mkdir(parents=True, exist_ok=True)
    REQUEST_LOG.write_text(
        json.dumps([{**entry, "t": entry["time"] - started} for entry in log], default=str)
    )
    plot(completed, writes, b, wall, sorted(in_order), mean / best_mean)


def plot(
    completed: list[float],
    writes: list[float],
    b: Bound,
    wall: float,
    best: list[float],
    mean_ratio: float,
) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(no plot: pip install matplotlib, or install the dev extras)")
        return
    end = max(wall, b.total) * 1.03
    grid = [end * i / 2000 for i in range(2001)]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    top.step(completed, range(1, len(completed) + 1), where="post", label="completed (measured)")
    top.step(best, range(1, len(best) + 1), "--", where="post", label="best, in creation order")
    top.plot(grid, [best_completed(t, b) for t in grid], ":", label="best, shortest first")
    top.axvline(b.total, color="grey", linewidth=0.8, label=f"bound {b.total:.0f} s")
    top.set_ylabel("courses completed")
    top.set_title(
        f"{LECTURES + LABORATORIES} courses, {PROTECTION_MODE} protection: wall {wall:.0f} s, "
        f"ratio {wall / b.total:.2f}; "
        f"mean ready / best mean {mean_ratio:.2f}"
    )
    top.legend(loc="upper left")
    bottom.step(writes, range(1, len(writes) + 1), where="post", label="GitHub writes (measured)")
    bottom.plot(
        grid,
        [best_writes(t, b) for t in grid],
        "--",
        label=f"at most {GITHUB_LIMIT} per {GITHUB_WINDOW:.0f} s",
    )
    bottom.set_xlabel("seconds since the first POST")
    bottom.set_ylabel("GitHub writes")
    bottom.legend(loc="upper left")
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(PLOT, dpi=110)
    print(f"\nplot: {PLOT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
