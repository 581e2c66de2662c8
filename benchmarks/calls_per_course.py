"""Platform calls per course: reads and writes of a first run and of a re-run.

Provisions a lecture course and a laboratory course with four groups against the in-process
sandbox, counting the requests the fake Discord and GitHub received (GET = read, anything else =
write), then runs both again with every step reset to PENDING, as a redelivered or retried task
would. Prints figures; asserts nothing. Usage: ``make bench-calls`` (SQLite in a temporary file).
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
    with RunningSandbox() as sandbox:
        settings.DISCORD_API_URL = sandbox.discord_api_url
        settings.GITHUB_API_URL = sandbox.github_api_url
        control = SandboxControl(sandbox.url)
        control.create_org(settings.GITHUB_ORG, plan="team")
        for number in range(2):
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
        for label, kwargs in cases:
            seen = len(control.requests())
            course = course_create(name=f"Bench {label}", semester="2026-fall", **kwargs)
            first = count(control.requests(since=seen))
            course.steps.update(status="PENDING")
            Course.objects.filter(id=course.id).update(status="PENDING")
            seen = len(control.requests())
            run_course(course.id)
            again = count(control.requests(since=seen))
            rows.append((label, first, again))

    print(f"{'course':<22} {'run':<8} {'discord r/w':>12} {'github r/w':>12}")
    for label, first, again in rows:
        for run, figures in (("first", first), ("re-run", again)):
            discord = f"{figures['discord', 'read']}/{figures['discord', 'write']}"
            github = f"{figures['github', 'read']}/{figures['github', 'write']}"
            print(f"{label:<22} {run:<8} {discord:>12} {github:>12}")


if __name__ == "__main__":
    main()
