"""Platform calls per course: reads and writes of a first run and of a re-run.

Provisions a lecture course and a laboratory course with four groups against the in-process
sandbox, counting the requests the fake Discord and GitHub received (GET = read, anything else =
write), then runs both again with every step reset to PENDING, as a redelivered or retried task
would. Then the same two courses again, in another semester, with
``GITHUB_PROTECTION_MODE=ruleset``: one organization ruleset per semester replaces one
protection write per repository, so GitHub sees 4 writes per repository (create, tree,
commit, ref) plus one per semester. Prints figures; asserts nothing.
Usage: ``make bench-calls`` (SQLite in a temporary file).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
_db = Path(tempfile.mkdtemp()) / "bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ["DATABASE_URL"] = f"sqlite:///{_db}"
os.environ.pop("CELERY_BROKER_URL", None)  # in-process execution
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from courses.models import Course  # noqa: E402
from courses.services import LabGroupInput, course_create  # noqa: E402
from provisioning.pool import discord_server_add  # noqa: E402
from provisioning.runner import run_course  # noqa: E402
from sandbox.control_client import SandboxControl  # noqa: E402
from sandbox.server import RunningSandbox  # noqa: E402


def count(log: list[dict]) -> Counter:
    return Counter(
        (entry["provider"], "read" if entry["method"] == "GET" else "write") for entry in log
    )


def main() -> None:
    call_command("migrate", verbosity=0)
    # The embedded default runs in background threads: course_create would return before the
    # run, and the count would miss it. Inline, the run is over when course_create returns.
    settings.PROVISIONING_EXECUTION = "inline"
    with RunningSandbox() as sandbox:
        settings.DISCORD_API_URL = sandbox.discord_api_url
        settings.GITHUB_API_URL = sandbox.github_api_url
        control = SandboxControl(sandbox.url)
        control.create_org(settings.GITHUB_ORG, plan="team")
        for number in range(4):
            guild = control.create_guild(name=f"Bench server {number}")
            discord_server_add(guild_id=guild["id"], name=guild["name"])

        rows = []
        cases: list[tuple[str, dict[str, Any]]] = [
            ("lecture", {"type": "LECTURE"}),
            (
                "laboratory, 4 groups",
                {
                    "type": "LABORATORY",
                    "lab_groups": [LabGroupInput(name=f"Group {n}", number=n) for n in range(1, 5)],
                },
            ),
        ]
        for mode, semester in (("branch", "2026-fall"), ("ruleset", "2027-spring")):
            settings.GITHUB_PROTECTION_MODE = mode
            for label, kwargs in cases:
                seen = len(control.requests())
                course = course_create(name=f"Bench {label}", semester=semester, **kwargs)
                first = count(control.requests(since=seen))
                course.steps.update(status="PENDING")
                Course.objects.filter(id=course.id).update(status="PENDING")
                seen = len(control.requests())
                run_course(course.id)
                again = count(control.requests(since=seen))
                rows.append((mode, label, first, again))

    print(f"{'protection':<11} {'course':<22} {'run':<8} {'discord r/w':>12} {'github r/w':>12}")
    for mode, label, first, again in rows:
        for run, figures in (("first", first), ("re-run", again)):
            discord = f"{figures['discord', 'read']}/{figures['discord', 'write']}"
            github = f"{figures['github', 'read']}/{figures['github', 'write']}"
            print(f"{mode:<11} {label:<22} {run:<8} {discord:>12} {github:>12}")
    print(
        "ruleset mode: the semester's first course also writes its ruleset (one write per "
        "semester); every repository takes 4 GitHub writes."
    )


if __name__ == "__main__":
    main()
