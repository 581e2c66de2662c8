"""``manage.py semester archive SEMESTER``: archive every course of a semester (semester end).

- ``--dry-run``: the plan only — what each course would change, the writes it costs and the time
  the GitHub write budget makes them take; nothing is written;
- otherwise one ARCHIVE operation per live, COMPLETED, not yet archived course, each started on
  its own: a busy, failed or archived course is skipped and listed with the reason.

Thin: ``provisioning.archive`` plans and starts. Like ``course``, without a broker the command
waits for the runs (this process is the worker); ``--wait`` waits with a broker too, printing each
course as it ends. Exits non-zero when an archive FAILED, or for a value that is no semester.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.celery import BACKGROUND, CELERY, execution_mode
from courses.models import Course
from provisioning.archive import SemesterArchive, semester_archive_plan, semester_archive_start
from provisioning.background import background_wait
from provisioning.management.commands.provision_course import _messages, _quiet_celery
from provisioning.models import Operation

POLL_SECONDS = 0.5
T = TypeVar("T")


class Command(BaseCommand):
    help = "Archive every course of a semester (--dry-run: the plan and its cost only)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        archive = actions.add_parser("archive", help="Archive the semester's courses.")
        archive.add_argument("semester", metavar="SEMESTER", help="e.g. 2026-fall")
        archive.add_argument("--dry-run", action="store_true", help="Print the plan, do nothing.")
        archive.add_argument("--json", action="store_true", help="Print JSON.")
        archive.add_argument("--wait", action="store_true", help="Wait for every archive.")
        archive.add_argument("--timeout", type=float, default=3600.0, help="Seconds to wait.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["dry_run"]:
            plan = _checked(semester_archive_plan, options["semester"])
            if not plan["courses"] and not plan["skipped"]:
                raise CommandError(f"No course in semester {plan['semester']}.")
            self._print_plan(plan, options["json"])
            return
        mode = execution_mode()
        with _quiet_celery():
            # No plan first: the start sorts the courses itself (and starts none of an unknown
            # semester, or of one without courses).
            started = _checked(semester_archive_start, options["semester"])
            if not started.operations and not started.skipped:
                raise CommandError(f"No course in semester {started.semester}.")
            if not options["json"]:
                self.stdout.write(
                    f"Semester {started.semester}: {len(started.operations)} archive(s) started."
                )
            followed = options["wait"] or mode != CELERY
            if followed:
                self._follow(started, mode, options)
        self._print_started(started, options["json"], listed=followed)
        failed = [o for o in started.operations if o.status == Operation.Status.FAILED]
        if failed:
            courses = ", ".join(str(o.course_id) for o in failed)
            raise CommandError(f"{len(failed)} archive(s) FAILED: {courses}")

    def _follow(self, started: SemesterArchive, mode: str, options: dict[str, Any]) -> None:
        """Wait until every course's run ends; name each course as it does (unless --json)."""
        deadline = time.monotonic() + options["timeout"]
        waiting = {o.course_id: o for o in started.operations}
        while waiting:
            ended = Course.objects.filter(id__in=waiting, status__in=Course.TERMINAL)
            for course in ended:
                operation = waiting.pop(course.id)
                operation.refresh_from_db()
                if not options["json"]:
                    self.stdout.write(f"  {operation.status:<9} {course}")
            if not waiting:
                break
            if time.monotonic() > deadline:
                raise CommandError(f"{len(waiting)} course(s) still archiving.")
            time.sleep(POLL_SECONDS)
        if mode == BACKGROUND:
            background_wait(timeout=max(0.0, deadline - time.monotonic()))
        for operation in started.operations:
            operation.refresh_from_db()

    def _print_plan(self, plan: dict[str, Any], as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(plan, indent=2))
            return
        self.stdout.write(
            f"Semester {plan['semester']}: {len(plan['courses'])} course(s) to archive, "
            f"{plan['githubWrites']} GitHub and {plan['discordWrites']} Discord writes, "
            f"about {plan['estimatedSeconds']:g} s."
        )
        for course in plan["courses"]:
            self.stdout.write(f"{course['name']} ({course['courseId']})")
            for change in course["changes"]:
                self.stdout.write(f"  {change}")
        self._print_skipped(plan["skipped"])

    def _print_started(self, started: SemesterArchive, as_json: bool, *, listed: bool) -> None:
        """The operations (each already named as it ended when ``listed``), then the skipped."""
        if as_json:
            body = {
                "semester": started.semester,
                "operations": [
                    {"id": o.id, "courseId": str(o.course_id), "kind": o.kind, "status": o.status}
                    for o in started.operations
                ],
                "skipped": started.skipped,
            }
            self.stdout.write(json.dumps(body, indent=2))
            return
        if not listed:
            for operation in started.operations:
                self.stdout.write(f"  {operation.status:<9} {operation.course_id}")
        self._print_skipped(started.skipped)

    def _print_skipped(self, skipped: list[dict[str, Any]]) -> None:
        for course in skipped:
            self.stdout.write(
                f"Skipped {course['name']} ({course['courseId']}): {course['reason']}"
            )


def _checked(service: Callable[..., T], semester: str) -> T:
    """``service(semester=...)``; a value that is no semester is a ``CommandError``."""
    try:
        return service(semester=semester)
    except ValidationError as exc:
        raise CommandError(_messages(exc)) from exc
