"""``manage.py import_courses FILE``: plan or apply a bulk import of courses.

Thin: ``imports.services`` plans and applies; this reads the file and prints.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.celery import BACKGROUND, execution_mode
from courses.models import Course
from imports.models import Import
from imports.parsing import ImportFileError, import_file_read, import_format_guess
from imports.selectors import import_counts, import_rows
from imports.services import ImportPlan, import_apply, import_plan, import_refresh
from provisioning.background import background_wait

PLAN_KEYS = (
    "rows",
    "errors",
    "serversNeeded",
    "serversAvailable",
    "githubWrites",
    "discordCalls",
    "estimatedSeconds",
)
RUNNING = (Import.Status.APPLYING, Import.Status.PROVISIONING)


class Command(BaseCommand):
    help = "Import courses from a CSV (name,semester,type,groups,discordGuildId) or JSON file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV or JSON file; - reads standard input.")
        parser.add_argument("--dry-run", action="store_true", help="Print the plan; do nothing.")
        parser.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="Create every course in one transaction, none if any row is invalid.",
        )
        parser.add_argument(
            "--priority", choices=Course.Priority.values, default=Course.Priority.NORMAL
        )
        parser.add_argument("--format", choices=["csv", "json"], help="Default: from the file.")
        parser.add_argument("--wait", action="store_true", help="Wait for every course to end.")
        parser.add_argument("--timeout", type=float, default=3600.0, help="Seconds --wait waits.")
        parser.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        content, filename = self._read(options["file"])
        format = options["format"] or import_format_guess(content=content, filename=filename)
        try:
            if options["dry_run"]:
                plan = import_plan(content=content, format=format, priority=options["priority"])
                self._print_plan(plan, as_json=options["json"])
                if plan.errors:
                    raise CommandError(f"{len(plan.errors)} problem(s) in the file; see above.")
                return
            record = import_apply(
                content=content,
                format=format,
                filename=filename,
                priority=options["priority"],
                all_or_nothing=options["all_or_nothing"],
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        # Without a broker the runs are threads of this process: it must outlive them.
        if options["wait"] or execution_mode() == BACKGROUND:
            record = self._settle(record, options["timeout"])
        self._print_import(record, as_json=options["json"])
        if record.status in (Import.Status.FAILED, Import.Status.REJECTED):
            raise CommandError(f"Import {record.id} {record.status}.")

    def _read(self, path: str) -> tuple[str, str]:
        try:
            if path == "-":
                return import_file_read(sys.stdin.buffer), ""
            with Path(path).open("rb") as stream:
                return import_file_read(stream), Path(path).name
        except (OSError, ImportFileError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from None

    def _settle(self, record: Import, timeout: float) -> Import:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if execution_mode() == BACKGROUND:
                background_wait(timeout=min(5.0, max(0.0, deadline - time.monotonic())))
            refreshed = import_refresh(import_id=record.id)
            if refreshed is None or refreshed.status not in RUNNING:
                break
            time.sleep(1.0)
        record.refresh_from_db()
        return record

    def _print_plan(self, plan: ImportPlan, *, as_json: bool) -> None:
        data = plan.as_dict()
        if as_json:
            self.stdout.write(json.dumps({key: data[key] for key in PLAN_KEYS}, indent=2))
            return
        for error in plan.errors:
            self.stdout.write(f"line {error['line']}: {error['field']}: {error['reason']}")
        self.stdout.write(f"{data['validRows']} valid row(s), {data['invalidRows']} invalid")
        shortfall = data["serversShortfall"]
        self.stdout.write(
            f"Discord servers from the pool: {data['serversNeeded']} needed, "
            f"{data['serversAvailable']} available"
            + (f" — {shortfall} short: add servers before applying" if shortfall else "")
        )
        self.stdout.write(
            f"{data['githubWrites']} GitHub writes, {data['discordCalls']} Discord calls; "
            f"{data['estimate']}"
        )

    def _print_import(self, record: Import, *, as_json: bool) -> None:
        counts = import_counts(record=record)
        rows = [
            {
                "line": row.line,
                "name": row.name,
                "outcome": row.outcome,
                "errors": row.errors,
                "courseId": str(row.course_id) if row.course_id else None,
                "courseStatus": row.course.status if row.course else None,
            }
            for row in import_rows(record=record)
        ]
        if as_json:
            body = {"importId": str(record.id), "status": record.status, "counts": counts}
            self.stdout.write(json.dumps({**body, "rows": rows}, indent=2))
            return
        for row in rows:
            if row["errors"]:
                reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in row["errors"])
                self.stdout.write(f"line {row['line']}: {row['outcome']}: {reasons}")
        courses = ", ".join(f"{n} {status}" for status, n in counts["courses"].items() if n)
        self.stdout.write(
            f"Import {record.id} {record.status}: {counts['created']} course(s) created"
            f" ({courses or 'none'}), {counts['invalid']} invalid, "
            f"{counts['notCreated']} not created"
        )
