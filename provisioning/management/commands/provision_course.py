"""``manage.py provision_course``: create and provision a course, or retry one, from a shell.

Where the run happens follows ``config.celery.execution_mode``:

- ``celery``: the command enqueues and, without ``--wait``, returns at once (PENDING, exit 0);
  with ``--wait`` it follows the worker's progress in the database.
- ``background`` (no broker) and ``inline``: this process is the worker, and a run's thread dies
  with the process; so the command always waits for the run to end, ``--wait`` or not
  (``--wait`` adds the step-by-step display).

A run that ends FAILED exits non-zero, naming the step and its reason. Celery and kombu never
write on stderr here: what matters is said by the command, once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

from celery.exceptions import CDeprecationWarning, CeleryWarning, CPendingDeprecationWarning
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.models import SystemEvent
from config.celery import BACKGROUND, CELERY, INLINE, execution_mode
from courses.models import Course
from courses.services import CourseConflictError, LabGroupInput, course_create
from provisioning.background import background_crash, background_wait
from provisioning.management.progress import StepProgress, made_lines
from provisioning.models import ProvisioningStep
from provisioning.selectors import course_made, course_status, failed_step
from provisioning.services import CourseBusyError, NothingToRetryError, provisioning_retry
from provisioning.signals import step_changed

POLL_SECONDS = 0.5
NOISY_LOGGERS = ("celery", "kombu", "amqp")


class Command(BaseCommand):
    help = (
        "Create and provision a course (or --retry one). Without a broker the command waits for "
        "the run; --wait shows each step as it starts and ends. Exits non-zero when it FAILED."
    )

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
        parser.add_argument(
            "--github-org", default="", help="GitHub organization for its repositories."
        )
        parser.add_argument(
            "--priority",
            choices=Course.Priority.values,
            default=Course.Priority.NORMAL,
            help="Who goes first under the platforms' rate limits (default normal).",
        )
        parser.add_argument("--retry", metavar="COURSE_ID", help="Retry a failed course.")
        parser.add_argument("--wait", action="store_true", help="Follow the steps until done.")
        parser.add_argument("--timeout", type=float, default=900.0, help="Seconds --wait waits.")
        parser.add_argument("--json", action="store_true", help="Print the final status as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        mode = execution_mode()
        progress = None
        if options["wait"] and not options["json"]:
            progress = StepProgress(self.stdout, live=self.stdout.isatty())
        with _quiet_celery(), self._inline_progress(progress, mode):
            course = self._start(options, progress)
            if options["wait"] or mode != CELERY:
                self._settle(course, mode, progress, options["timeout"])
        course.refresh_from_db()
        if options["json"]:
            self.stdout.write(json.dumps(course_status(course=course), indent=2))
        else:
            self._report(course)
        if course.status == Course.Status.FAILED:
            step = failed_step(course=course)
            detail = f"{step.name}: {step.last_error}" if step else "see its steps"
            raise CommandError(f"Course {course.id} FAILED at {detail}")

    def _start(self, options: dict[str, Any], progress: StepProgress | None) -> Course:
        if not options["retry"]:
            return self._create(options)
        course = self._course(options["retry"])
        if progress is not None:  # its completed steps are not news
            progress.baseline(course.steps.order_by("order"))
        return self._retry(course)

    @contextlib.contextmanager
    def _inline_progress(self, progress: StepProgress | None, mode: str) -> Iterator[None]:
        """Inline, the run happens inside course_create: follow it through the runner's signal,
        since nothing could poll the database meanwhile. Other modes poll (``_settle``)."""
        if progress is None or mode != INLINE:
            yield
            return

        def changed(sender: type, step: ProvisioningStep, **kwargs: Any) -> None:
            progress.update(ProvisioningStep.objects.filter(course_id=step.course_id))

        step_changed.connect(changed, weak=False, dispatch_uid="provision_course")
        try:
            yield
        finally:
            step_changed.disconnect(dispatch_uid="provision_course")

    def _settle(
        self, course: Course, mode: str, progress: StepProgress | None, timeout: float
    ) -> None:
        """Wait until the run ends, showing its steps if asked."""
        deadline = time.monotonic() + timeout
        while True:
            course.refresh_from_db()
            if progress is not None:
                progress.update(course.steps.order_by("order"))
            if course.status in Course.TERMINAL:
                break
            crash = background_crash(course_id=str(course.id)) if mode == BACKGROUND else None
            if crash is not None:
                raise CommandError(
                    f"Course {course.id}: its run crashed ({crash.__class__.__name__}: {crash}); "
                    "it is retried by the recovery sweep, or now with --retry once it is FAILED."
                )
            if mode == CELERY and _not_enqueued(course):
                raise CommandError(
                    f"Course {course.id} is PENDING: the broker could not be reached. The "
                    "recovery sweep enqueues it once the broker is back."
                )
            if time.monotonic() > deadline:
                raise CommandError(f"Course {course.id} still {course.status} after {timeout}s.")
            time.sleep(POLL_SECONDS)
        if mode != CELERY:
            background_wait(timeout=max(0.0, deadline - time.monotonic()))

    def _report(self, course: Course) -> None:
        """The last word: the outcome, then what was made (the failure is the CommandError's)."""
        if course.status not in Course.TERMINAL:
            note = " (the broker could not be reached)" if _not_enqueued(course) else ""
            self.stdout.write(f"Course {course.id} is {course.status}{note}.")
            return
        self.stdout.write(f"Course {course.id} {course.status}")
        if course.status == Course.Status.COMPLETED:
            for line in made_lines(course_made(course=course)):
                self.stdout.write(line)

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
                github_org=options["github_org"],
                priority=options["priority"],
            )
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        except CourseConflictError as exc:
            raise CommandError(str(exc)) from exc

    def _course(self, course_id: str) -> Course:
        try:
            return Course.objects.get(id=uuid.UUID(course_id))
        except (ValueError, Course.DoesNotExist) as exc:
            raise CommandError(f"No course with id {course_id!r}.") from exc

    def _retry(self, course: Course) -> Course:
        try:
            return provisioning_retry(course=course)
        except (CourseBusyError, NothingToRetryError) as exc:
            raise CommandError(str(exc)) from exc


def _not_enqueued(course: Course) -> bool:
    """The broker refused this course's message (provisioning.services records it)."""
    return SystemEvent.objects.filter(
        course=course, kind=SystemEvent.Kind.ENQUEUE_FAILED, created_at__gte=course.updated_at
    ).exists()


@contextlib.contextmanager
def _quiet_celery() -> Iterator[None]:
    """Celery and kombu log and warn about connections (retries, a broker away): the command
    says what matters itself, so they stay silent while it runs."""
    loggers = [logging.getLogger(name) for name in NOISY_LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"(celery|kombu|amqp)(\.|$)")
        for category in (CeleryWarning, CDeprecationWarning, CPendingDeprecationWarning):
            warnings.filterwarnings("ignore", category=category)
        for logger in loggers:
            logger.setLevel(logging.CRITICAL + 1)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def _messages(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)
