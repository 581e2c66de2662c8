"""``manage.py roster ACTION COURSE_ID``: a course's roster from the command line.

- ``import COURSE_ID FILE [--dry-run]``: a roster file (CSV ``name,email,github,role,group``, or
  the same as JSON; ``-`` reads standard input). ``--dry-run`` prints what would change and
  writes nothing. A file with any bad line imports no one: every bad line is printed and the
  command exits 1. Otherwise the members are added and updated and their sync starts when the
  course is COMPLETED and idle; if it cannot start now the roster is still saved (exit 0) and
  the command says why the sync is pending;
- ``sync COURSE_ID``: a SYNC_MEMBERS operation now (exit 1 when refused: busy, not COMPLETED);
- ``remove COURSE_ID MEMBER``: take a member (their id, email or GitHub username) off the roster;
- ``export COURSE_ID [--links] [-o FILE]``: the roster as a roster file (it imports back as
  unchanged), or with ``--links`` the link sheet (invite and repository per member).

Thin: ``courses.roster`` does the work. Like ``manage.py course``, without a broker the command
waits for the sync (this process is the worker); ``--wait`` follows its steps with a broker too.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from config.celery import BACKGROUND, CELERY, execution_mode
from courses.models import Course, CourseMember
from courses.roster import (
    RosterInvalidError,
    RosterPlan,
    RosterSync,
    link_sheet_csv,
    member_remove,
    roster_export,
    roster_import,
    roster_plan,
    roster_sync,
)
from courses.roster_files import (
    RosterFileError,
    roster_file_read,
    roster_format_guess,
    roster_parse,
)
from provisioning.background import background_wait
from provisioning.management.commands.course import _course
from provisioning.management.commands.provision_course import _quiet_celery
from provisioning.management.progress import StepProgress
from provisioning.models import Operation
from provisioning.selectors import operations_json
from provisioning.services import CourseBusyError

POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = "Import, sync, remove from or export a course's roster."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        load = actions.add_parser("import", help="Add and update members from a roster file.")
        load.add_argument("course_id", metavar="COURSE_ID")
        load.add_argument("file", metavar="FILE", help="CSV or JSON; - reads standard input.")
        load.add_argument("--dry-run", action="store_true", help="Print the plan; change nothing.")
        load.add_argument("--format", choices=["csv", "json"], help="Default: from the file.")
        sync = actions.add_parser("sync", help="Carry the roster to Discord and GitHub now.")
        sync.add_argument("course_id", metavar="COURSE_ID")
        remove = actions.add_parser("remove", help="Take a member off the roster.")
        remove.add_argument("course_id", metavar="COURSE_ID")
        remove.add_argument("member", metavar="MEMBER", help="Their id, email or GitHub username.")
        export = actions.add_parser("export", help="Print the roster (or the link sheet) as CSV.")
        export.add_argument("course_id", metavar="COURSE_ID")
        export.add_argument("--links", action="store_true", help="The link sheet instead.")
        export.add_argument("-o", "--output", metavar="FILE", help="Write there, not to stdout.")
        for sub in (load, sync, remove):
            sub.add_argument("--wait", action="store_true", help="Follow the sync until done.")
            sub.add_argument("--timeout", type=float, default=900.0, help="Seconds to wait.")
            sub.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        course = _course(options["course_id"])
        action = options["action"]
        if action == "export":
            self._export(course, options)
            return
        with _quiet_celery():
            if action == "import":
                sync = self._import(course, options)
            elif action == "remove":
                sync = self._remove(course, options)
            else:
                try:
                    sync = RosterSync(operation=roster_sync(course=course))
                except CourseBusyError as exc:
                    raise CommandError(str(exc)) from exc
            if sync is None:
                return
            operation = sync.operation
            if operation is None:
                if sync.pending:
                    self.stderr.write(f"Sync pending: {sync.reason}")
                return
            if options["wait"] or execution_mode() != CELERY:
                self._follow(course, operation, options)
        self._print_operation(course, operation, options["json"])
        operation.refresh_from_db()
        if operation.status == Operation.Status.FAILED:
            failed = operation.steps.filter(status="FAILED").first()
            detail = f"{failed.name}: {failed.last_error}" if failed else "see its steps"
            raise CommandError(f"Course {course.id}: the roster's sync FAILED at {detail}")

    # --- actions -----------------------------------------------------------------------------
    def _import(self, course: Course, options: dict[str, Any]) -> RosterSync | None:
        content, filename = _read(options["file"])
        format = options["format"] or roster_format_guess(content=content, filename=filename)
        try:
            rows = roster_parse(content=content, format=format)
            if options["dry_run"]:
                plan = roster_plan(course=course, rows=rows)
                self._print_plan(plan, options["json"])
                if plan.errors:
                    raise CommandError(
                        f"{len(plan.errors)} problem(s) on {plan.counts()['invalidLines']} "
                        "line(s): nothing would be imported.",
                        returncode=1,
                    )
                return None
            result = roster_import(course=course, rows=rows)
        except RosterFileError as exc:
            raise CommandError(f"{options['file']}: {exc}") from exc
        except RosterInvalidError as exc:
            self._print_errors(exc.plan)
            raise CommandError(str(exc), returncode=1) from exc
        except CourseBusyError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
        else:
            counts = result.counts
            self.stdout.write(
                f"Roster of {course}: {counts['added']} added, {counts['updated']} updated, "
                f"{counts['unchanged']} unchanged ({counts['absent']} not in the file, kept)."
            )
        return result.sync

    def _remove(self, course: Course, options: dict[str, Any]) -> RosterSync:
        who = options["member"].strip()
        match = Q(email__iexact=who) | Q(github_username__iexact=who.removeprefix("@"))
        with contextlib.suppress(ValueError):  # not an id: an email or a username
            match |= Q(id=uuid.UUID(who))
        members = list(
            CourseMember.objects.filter(match, course=course, removed_at__isnull=True)[:2]
        )
        if len(members) != 1:
            raise CommandError(
                f"No member {who!r} on the roster of course {course.id}."
                if not members
                else f"{who!r} names more than one member: give their id."
            )
        try:
            sync = member_remove(member=members[0])
        except CourseBusyError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{members[0].name} was taken off the roster of {course}.")
        return sync

    def _export(self, course: Course, options: dict[str, Any]) -> None:
        text = link_sheet_csv(course=course) if options["links"] else roster_export(course=course)
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")

    # --- output ------------------------------------------------------------------------------
    def _print_plan(self, plan: RosterPlan, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(plan.as_dict(), indent=2))
            return
        counts = plan.counts()
        self.stdout.write(
            f"Would add {counts['added']}, update {counts['updated']}, leave {counts['unchanged']} "
            f"unchanged ({counts['absent']} on the roster not in the file, kept)."
        )
        for change in plan.changes:
            if change.action == "update":
                self.stdout.write(
                    f"  line {change.line}: update {change.name} ({', '.join(change.fields)})"
                )
        self._print_errors(plan)

    def _print_errors(self, plan: RosterPlan) -> None:
        for error in plan.errors:
            self.stdout.write(f"line {error['line']}: {error['field']}: {error['reason']}")

    def _print_operation(self, course: Course, operation: Operation, as_json: bool) -> None:
        body = operations_json(ids=[operation.id])[operation.id]
        if as_json:
            self.stdout.write(json.dumps(body, indent=2))
            return
        self.stdout.write(f"{body['kind']} {body['status']}  asked {body['createdAt']}")
        for step in body["steps"]:
            error = f" - {step['lastError']}" if step["lastError"] else ""
            self.stdout.write(f"  {step['stepName']:<32} {step['status']}{error}")

    def _follow(self, course: Course, operation: Operation, options: dict[str, Any]) -> None:
        """Wait until the sync ends, showing its steps if asked."""
        progress = None
        if options["wait"] and not options["json"]:
            progress = StepProgress(self.stdout, live=self.stdout.isatty())
        deadline = time.monotonic() + options["timeout"]
        while True:
            operation.refresh_from_db()
            if progress is not None:
                progress.update(operation.steps.order_by("order"))
            if operation.status not in Operation.ACTIVE:
                break
            if time.monotonic() > deadline:
                raise CommandError(f"Course {course.id}: the sync is still {operation.status}.")
            time.sleep(POLL_SECONDS)
        if execution_mode() == BACKGROUND:
            background_wait(timeout=max(0.0, deadline - time.monotonic()))


def _read(path: str) -> tuple[bytes, str]:
    """The file's bytes (the roster reads them: UTF-8, with or without a BOM) and its name."""
    try:
        if path == "-":
            return roster_file_read(sys.stdin.buffer), ""
        with Path(path).open("rb") as stream:
            return roster_file_read(stream), path
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    except RosterFileError as exc:
        raise CommandError(f"{path}: {exc}") from exc
