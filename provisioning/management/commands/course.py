"""``manage.py course ACTION COURSE_ID``: change a course, and list its operations.

- ``rebind COURSE_ID --discord-guild-id ID``: a FAILED course in which nothing exists in Discord
  yet is bound to another server (``""``: the next pool server) and retried;
- ``add-group COURSE_ID --group NAME [--group NAME ...]``: lab groups added to a COMPLETED
  laboratory, numbered after its last group; only their resources are made;
- ``rename COURSE_ID --name NAME``: the course and its Discord server renamed;
- ``operations COURSE_ID``: its operations, their steps and every attempt;
- ``verify COURSE_ID``: a VERIFY operation (reads only) compares every confirmed resource with
  the platforms; prints the report (``--json``: ``{courseId, checkedAt, resources: [...]}``) and
  exits 1 when anything drifted;
- ``repair COURSE_ID``: a REPAIR operation puts back what the latest verify found missing or
  changed;
- ``archive COURSE_ID`` / ``unarchive COURSE_ID``: the semester's end, and its undoing (one
  course; the admin and the API archive many);
- ``teardown COURSE_ID [--yes]``: removes what the course made and soft-deletes it. It prints
  what will be removed and asks for the course's name; ``--yes`` skips the question, and
  without a terminal to ask on (a script, a pipe) it is required.

Thin: the services of ``courses.changes`` and ``provisioning.archive`` / ``teardown`` /
``repair`` / ``verify`` do the work. Like ``provision_course``, without a broker
the command waits for the run (this process is the worker); ``--wait`` shows the operation's
steps as they advance. Exits non-zero when the operation FAILED or was refused.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.celery import BACKGROUND, CELERY, execution_mode
from courses.changes import course_add_groups, course_rebind, course_rename
from courses.models import Course
from courses.services import CourseConflictError, LabGroupInput
from provisioning.archive import course_archive, course_unarchive
from provisioning.background import background_wait
from provisioning.management.commands.provision_course import _messages, _quiet_celery
from provisioning.management.progress import StepProgress
from provisioning.models import Operation
from provisioning.repair import course_repair
from provisioning.selectors import course_operations
from provisioning.services import CourseBusyError, NothingToRetryError
from provisioning.teardown import course_teardown, teardown_plan
from provisioning.verify import course_verify, drift_report_json, drift_report_latest

POLL_SECONDS = 0.5

# The operations that take nothing but the course: the action's name to the service starting it.
COURSE_OPERATIONS: dict[str, Callable[..., Operation]] = {
    "verify": course_verify,
    "repair": course_repair,
    "archive": course_archive,
    "unarchive": course_unarchive,
    "teardown": course_teardown,
}


class Command(BaseCommand):
    help = (
        "Change a course (rebind, add-group, rename), verify, repair, archive, unarchive or "
        "tear it down, or list its operations."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        rebind = actions.add_parser("rebind", help="Bind a failed course to another server.")
        rebind.add_argument(
            "--discord-guild-id",
            required=True,
            help='The server\'s id; "" to take the next pool server.',
        )
        add = actions.add_parser("add-group", help="Add lab groups to a laboratory.")
        add.add_argument(
            "--group", action="append", required=True, metavar="NAME", help="Repeat for more."
        )
        rename = actions.add_parser("rename", help="Rename a course and its Discord server.")
        rename.add_argument("--name", required=True)
        listing = actions.add_parser("operations", help="List the course's operations.")
        verify = actions.add_parser(
            "verify", help="Compare the course's resources with the platforms (reads only)."
        )
        repair = actions.add_parser(
            "repair", help="Put back what the latest verify found missing or changed."
        )
        archive = actions.add_parser("archive", help="Archive the course (semester end).")
        unarchive = actions.add_parser("unarchive", help="Undo the course's archive.")
        teardown = actions.add_parser(
            "teardown", help="Remove what the course made on the platforms and delete it."
        )
        teardown.add_argument(
            "--yes", action="store_true", help="Do not ask for the course's name (scripts)."
        )
        operating = (rebind, add, rename, verify, repair, archive, unarchive, teardown)
        for sub in (listing, *operating):
            sub.add_argument("course_id", metavar="COURSE_ID")
            sub.add_argument("--json", action="store_true", help="Print the operations as JSON.")
        for sub in operating:
            sub.add_argument("--wait", action="store_true", help="Follow the steps until done.")
            sub.add_argument("--timeout", type=float, default=900.0, help="Seconds to wait.")

    def handle(self, *args: Any, **options: Any) -> None:
        course = _course(options["course_id"])
        if options["action"] == "operations":
            self._print(course, options["json"])
            return
        # A torn down course is not asked about: the service refuses it with its reason.
        if options["action"] == "teardown" and not options["yes"] and course.deleted_at is None:
            self._confirm_teardown(course)
        mode = execution_mode()
        with _quiet_celery():
            operation = self._start(course, options)
            if options["wait"] or mode != CELERY:
                self._follow(course, operation, mode, options)
        course.refresh_from_db()
        if options["action"] == "verify":
            self._print_drift(course, operation, options["json"])
            return
        self._print(course, options["json"], only=operation)
        operation.refresh_from_db()
        if operation.status == Operation.Status.FAILED:
            failed = operation.steps.filter(status="FAILED").first()
            detail = f"{failed.name}: {failed.last_error}" if failed else "see its steps"
            raise CommandError(f"Course {course.id}: {operation.kind} FAILED at {detail}")

    def _start(self, course: Course, options: dict[str, Any]) -> Operation:
        try:
            if options["action"] == "rebind":
                course_rebind(course=course, discord_guild_id=options["discord_guild_id"])
                return course.operations.get(kind=Operation.Kind.PROVISION)
            if options["action"] == "add-group":
                last = max(course.lab_groups.values_list("number", flat=True), default=0)
                groups = [
                    LabGroupInput(name=name, number=number)
                    for number, name in enumerate(options["group"], start=last + 1)
                ]
                return course_add_groups(course=course, groups=groups)
            if options["action"] in COURSE_OPERATIONS:
                return COURSE_OPERATIONS[options["action"]](course=course)
            operation = course_rename(course=course, name=options["name"])
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        except (CourseConflictError, CourseBusyError, NothingToRetryError) as exc:
            raise CommandError(str(exc)) from exc
        if operation is None:
            raise CommandError(f"Course {course.id} is already named {options['name']!r}.")
        return operation

    def _confirm_teardown(self, course: Course) -> None:
        """Show what will be removed and ask for the course's name (on stderr: a question, not
        output, which ``--json`` keeps clean). Refuses without a terminal to ask on rather than
        read an answer from a pipe: a tear down cannot be undone."""
        if not sys.stdin.isatty():
            raise CommandError(
                f"Tearing down {course} deletes what it made on Discord and GitHub: pass --yes "
                "to confirm when no one can be asked (no terminal on stdin)."
            )
        try:
            plan = teardown_plan(course=course)
        except CourseBusyError as exc:
            raise CommandError(str(exc)) from exc
        lines = [f"Tearing down {course} ({course.id}) will:"]
        lines += [f"  - {change}" for change in plan["changes"]]
        lines.append(
            f"  ({plan['githubWrites']} GitHub and {plan['discordWrites']} Discord writes)"
        )
        lines.append("Type the course's name to confirm: ")
        self.stderr.write("\n".join(lines), style_func=_plain, ending="")
        self.stderr.flush()
        try:
            typed = input()
        except EOFError:
            typed = ""
        if typed.strip() != course.name:
            raise CommandError(f"{typed.strip()!r} is not the course's name: nothing was done.")

    def _follow(
        self, course: Course, operation: Operation, mode: str, options: dict[str, Any]
    ) -> None:
        """Wait until the course's run ends, showing the operation's steps if asked."""
        progress = None
        if options["wait"] and not options["json"]:
            progress = StepProgress(self.stdout, live=self.stdout.isatty())
        deadline = time.monotonic() + options["timeout"]
        while True:
            course.refresh_from_db()
            if progress is not None:
                progress.update(operation.steps.order_by("order"))
            if course.status in Course.TERMINAL:
                break
            if time.monotonic() > deadline:
                raise CommandError(f"Course {course.id} still {course.status}.")
            time.sleep(POLL_SECONDS)
        if mode == BACKGROUND:
            background_wait(timeout=max(0.0, deadline - time.monotonic()))

    def _print_drift(self, course: Course, operation: Operation, as_json: bool) -> None:
        """The operation's report; exit 1 (after printing it) when anything drifted."""
        operation.refresh_from_db()
        report = drift_report_latest(course=course)
        if report is None or report.operation_id != operation.id:
            failed = operation.steps.filter(status="FAILED").first()
            detail = failed.last_error if failed else f"still {operation.status}"
            raise CommandError(f"Course {course.id}: verify did not finish ({detail}).")
        body = drift_report_json(report=report)
        if as_json:
            self.stdout.write(json.dumps(body, indent=2))
        else:
            self.stdout.write(f"Checked {body['checkedAt']}")
            for item in body["resources"]:
                fields = ", ".join(sorted(item["differences"]))
                self.stdout.write(
                    f"  {item['state']:<8} {item['provider']} {item['kind']} {item['key']}"
                    + (f" ({fields})" if fields else "")
                )
        drifted = [item for item in body["resources"] if item["state"] != "ok"]
        if drifted:
            raise CommandError(
                f"Course {course.id}: {len(drifted)} resource(s) drifted.", returncode=1
            )

    def _print(self, course: Course, as_json: bool, only: Operation | None = None) -> None:
        operations = course_operations(course=course)
        if only is not None:
            operations = [o for o in operations if o["id"] == only.id]
        if as_json:
            self.stdout.write(json.dumps(operations, indent=2))
            return
        for operation in operations:
            self.stdout.write(
                f"{operation['kind']} {operation['status']}  asked {operation['createdAt']}"
            )
            for step in operation["steps"]:
                self.stdout.write(f"  {step['stepName']:<32} {step['status']}")
                for attempt in step["attempts"]:
                    error = f" - {attempt['error']}" if attempt["error"] else ""
                    self.stdout.write(
                        f"    attempt {attempt['number']}: {attempt['outcome']}{error}"
                    )


def _plain(text: str) -> str:
    return text


def _course(course_id: str) -> Course:
    try:
        return Course.objects.get(id=uuid.UUID(course_id))
    except (ValueError, Course.DoesNotExist) as exc:
        raise CommandError(f"No course with id {course_id!r}.") from exc
