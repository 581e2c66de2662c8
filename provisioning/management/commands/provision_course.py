"""``manage.py provision_course``: create and provision a course, or retry one, from a shell."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from courses.models import Course
from courses.services import CourseAlreadyExistsError, LabGroupInput, course_create
from provisioning.selectors import course_status, failed_step
from provisioning.services import CourseBusyError, NothingToRetryError, provisioning_retry

POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = "Create and provision a course (or --retry one), optionally waiting for the outcome."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", help="Course name (1 to 100 characters).")
        parser.add_argument("--semester", help="Semester, e.g. 2026-fall.")
        parser.add_argument("--type", choices=["lecture", "laboratory"], help="Course type.")
        parser.add_argument(
            "--group",
            action="append",
            default=[],
            metavar="NAME",
            help="A lab group (repeat; numbered 1, 2, ... in the order given).",
        )
        parser.add_argument("--discord-guild-id", default="", help="Staff-made server to use.")
        parser.add_argument("--retry", metavar="COURSE_ID", help="Retry a failed course.")
        parser.add_argument("--wait", action="store_true", help="Follow the steps until done.")
        parser.add_argument("--timeout", type=float, default=900.0, help="Seconds --wait waits.")
        parser.add_argument("--json", action="store_true", help="Print the final status as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        course = self._retry(options["retry"]) if options["retry"] else self._create(options)
        if options["wait"]:
            self._follow(course, options["timeout"], quiet=options["json"])
        course.refresh_from_db()
        status = course_status(course=course)
        if options["json"]:
            self.stdout.write(json.dumps(status, indent=2))
        elif not options["wait"]:
            self.stdout.write(f"Course {course.id} is {course.status}.")
        if options["wait"] and course.status == Course.Status.FAILED:
            step = failed_step(course=course)
            detail = f"{step.name}: {step.last_error}" if step else "see its steps"
            raise CommandError(f"Course {course.id} FAILED at {detail}")

    def _create(self, options: dict[str, Any]) -> Course:
        missing = [f"--{flag}" for flag in ("name", "semester", "type") if not options[flag]]
        if missing:
            raise CommandError(f"Missing {', '.join(missing)} (or give --retry COURSE_ID).")
        try:
            return course_create(
                name=options["name"],
                semester=options["semester"],
                type=options["type"].upper(),
                lab_groups=[
                    LabGroupInput(name=name, number=number)
                    for number, name in enumerate(options["group"], start=1)
                ],
                discord_guild_id=options["discord_guild_id"],
            )
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        except CourseAlreadyExistsError as exc:
            raise CommandError(str(exc)) from exc

    def _retry(self, course_id: str) -> Course:
        try:
            course = Course.objects.get(id=uuid.UUID(course_id))
        except (ValueError, Course.DoesNotExist) as exc:
            raise CommandError(f"No course with id {course_id!r}.") from exc
        try:
            return provisioning_retry(course=course)
        except (CourseBusyError, NothingToRetryError) as exc:
            raise CommandError(str(exc)) from exc

    def _follow(self, course: Course, timeout: float, *, quiet: bool) -> None:
        """Print each step's changes until the course settles."""
        seen: dict[str, tuple[str, int]] = {}
        deadline = time.monotonic() + timeout
        while True:
            course.refresh_from_db()
            for step in course.steps.order_by("order"):
                state = (step.status, step.attempts)
                if seen.get(step.name) != state and not quiet:
                    error = f" - {step.last_error}" if step.last_error else ""
                    self.stdout.write(
                        f"  {step.name:<32} {step.status:<10} attempts={step.attempts}{error}"
                    )
                seen[step.name] = state
            if course.status in (Course.Status.COMPLETED, Course.Status.FAILED):
                if not quiet:
                    self.stdout.write(f"Course {course.id} {course.status}")
                return
            if time.monotonic() > deadline:
                raise CommandError(f"Course {course.id} still {course.status} after {timeout}s.")
            time.sleep(POLL_SECONDS)


def _messages(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)
