"""Run a course's operation: claim the course, execute each unfinished step, checkpoint each one.

- The operation run is the course's oldest one with a step left to do (provisioning, then the
  changes asked after it); every attempt of a step is a ``StepAttempt`` row.

- One run at a time per course: a run claims the course with a compare-and-set on
  ``Course.run_token`` and proves it is alive through ``heartbeat_at``; a run whose heartbeat is
  older than ``PROVISIONING_LEASE_SECONDS`` is presumed dead and its claim may be taken over.
- Steps run in registry order; completed or skipped steps are passed over, a step left
  ``IN_PROGRESS`` by a dead run is simply run again (handlers are idempotent).
- A transient error (429, 5xx, timeout) is retried with exponential backoff and jitter, never
  sooner than the platform's ``retry_after``; a permanent one fails the step at once. A wait
  longer than ``PROVISIONING_MAX_INLINE_WAIT_SECONDS`` is not slept through in a worker: the run
  ends ``DEFERRED`` and the task re-schedules itself. In-process (no broker: a background thread
  of the web process, or inline) nothing would run a re-scheduled task, so the run waits here.
- A platform that does not answer at all fails the step at once (a ``platform_unreachable``
  event), and gives back the pool server this run claimed and never used.
- No row lock is held across an HTTP call: every write here is a short autocommit update.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.context import audit_scope
from audit.models import SystemEvent
from audit.redaction import redact_text
from audit.services import system_event_record
from config.celery import runs_in_process
from courses.models import Course
from integrations.errors import IntegrationError, PlatformUnreachableError
from integrations.ratelimit import turn_scope
from provisioning.context import StepContext
from provisioning.errors import LeaseLost, StepSkipped
from provisioning.models import JobExecution, Operation, ProvisioningStep, StepAttempt
from provisioning.pool import discord_server_release
from provisioning.signals import course_finished, step_changed
from provisioning.steps import HANDLERS

logger = logging.getLogger(__name__)
Outcome = JobExecution.Outcome
StepStatus = ProvisioningStep.Status
Attempt = StepAttempt.Outcome


@dataclass(frozen=True)
class RunResult:
    outcome: str
    retry_in: float | None = None  # when set, run the course again after this many seconds


class Lease:
    """This run's claim on a course."""

    def __init__(self, course_id: uuid.UUID | str) -> None:
        self.course_id = course_id
        self.token = uuid.uuid4()

    def acquire(self) -> bool:
        now = timezone.now()
        stale = now - timedelta(seconds=settings.PROVISIONING_LEASE_SECONDS)
        claimed = (
            Course.objects.filter(
                id=self.course_id,
                status__in=Course.ACTIVE,
            )
            .filter(Q(run_token__isnull=True) | Q(heartbeat_at__lt=stale))
            .update(
                run_token=self.token,
                heartbeat_at=now,
                status=Course.Status.IN_PROGRESS,
                updated_at=now,
            )
        )
        return claimed == 1

    def heartbeat(self) -> None:
        alive = Course.objects.filter(id=self.course_id, run_token=self.token).update(
            heartbeat_at=timezone.now()
        )
        if not alive:
            raise LeaseLost(f"another run took over course {self.course_id}")

    def release(self, status: str) -> None:
        released = Course.objects.filter(id=self.course_id, run_token=self.token).update(
            run_token=None, heartbeat_at=None, status=status, updated_at=timezone.now()
        )
        if released and status in Course.TERMINAL:  # once per run that ends the course
            course_finished.send_robust(sender=Course, course_id=self.course_id, status=status)


def run_course(course_id: uuid.UUID | str, *, task_id: str = "") -> RunResult:
    """Execute what is left of a course's provisioning; record this execution as a job row."""
    job = JobExecution.objects.create(course_id=course_id, task_id=task_id)
    try:
        result = _run(course_id, task_id)
    except BaseException as exc:  # time limit, lost database...: record it, then let it go
        _finish_job(job, Outcome.CRASHED, f"{exc.__class__.__name__}: {exc}")
        raise
    _finish_job(job, result.outcome)
    return result


def _finish_job(job: JobExecution, outcome: str, error: str = "") -> None:
    JobExecution.objects.filter(id=job.id).update(
        outcome=outcome, error=redact_text(error)[:4000], finished_at=timezone.now()
    )


def _run(course_id: uuid.UUID | str, task_id: str) -> RunResult:
    lease = Lease(course_id)
    if not lease.acquire():
        status = Course.objects.filter(id=course_id).values_list("status", flat=True).first()
        if status in Course.TERMINAL:
            return RunResult(status)  # nothing to do, and no call made
        system_event_record(
            kind=SystemEvent.Kind.DUPLICATE_RUN_PREVENTED,
            message=f"Course {course_id} is being provisioned by another run; this one waits.",
            course_id=course_id,
            severity=SystemEvent.Severity.INFO,
        )
        return RunResult(Outcome.BUSY, retry_in=float(settings.PROVISIONING_LEASE_SECONDS) / 4)
    course = Course.objects.get(id=course_id)
    # A course with no server yet claims one from the pool in this run (SETUP_DISCORD_SERVER).
    claims_from_pool = not course.discord_guild_id
    try:
        # Operations run one after the other, oldest first (at most one is asked at a time).
        while (operation := _current_operation(course)) is not None:
            outcome = Operation.Status.COMPLETED
            for step in course.steps.filter(operation=operation).order_by("order"):
                if step.status in ProvisioningStep.DONE:
                    continue
                if step.status == StepStatus.FAILED:
                    _finish_operation(operation, Operation.Status.FAILED)
                    lease.release(Course.Status.FAILED)
                    return RunResult(Outcome.FAILED)
                _start_operation(operation)
                result = _execute(course, step, lease, task_id, claims_from_pool=claims_from_pool)
                if result is None:
                    continue
                if result.outcome != Outcome.FAILED:
                    lease.release(Course.Status.IN_PROGRESS)
                    return result
                if operation.kind not in Operation.READ_ONLY:
                    _finish_operation(operation, Operation.Status.FAILED)
                    lease.release(Course.Status.FAILED)
                    return result
                outcome = Operation.Status.FAILED  # a failed check changed nothing: see the model
                break
            _finish_operation(operation, outcome)
    except LeaseLost:
        logger.warning("course %s: lease lost, leaving it to the run that took over", course_id)
        return RunResult(Outcome.BUSY)
    except SoftTimeLimitExceeded:
        # The worker's time limit: the run so far is checkpointed; give the course back and
        # let the task continue it at once in a fresh run.
        ProvisioningStep.objects.filter(course_id=course_id, status=StepStatus.IN_PROGRESS).update(
            status=StepStatus.PENDING
        )
        _interrupt_attempts(course_id=course_id)
        lease.release(Course.Status.IN_PROGRESS)
        system_event_record(
            kind=SystemEvent.Kind.TIME_LIMIT,
            message=f"Provisioning of course {course_id} reached the worker's time limit; "
            "it continues in a new run.",
            course_id=course_id,
            severity=SystemEvent.Severity.WARNING,
        )
        return RunResult(Outcome.DEFERRED, retry_in=1.0)
    lease.release(Course.Status.COMPLETED)
    return RunResult(Outcome.COMPLETED)


def _current_operation(course: Course) -> Operation | None:
    """The oldest operation with a step left to do, read from the steps (the checkpoint)."""
    orphans = ProvisioningStep.objects.filter(course=course, operation=None)
    if orphans.exists():  # written without an operation: they are the course's provisioning
        provision, _ = Operation.objects.get_or_create(course=course, kind=Operation.Kind.PROVISION)
        orphans.update(operation=provision)
    return (
        Operation.objects.filter(course=course)
        .filter(steps__status__in=(StepStatus.PENDING, StepStatus.IN_PROGRESS, StepStatus.FAILED))
        .exclude(kind__in=Operation.READ_ONLY, status=Operation.Status.FAILED)
        .order_by("created_at", "id")
        .first()
    )


def _start_operation(operation: Operation | None) -> None:
    if operation is None or operation.status == Operation.Status.IN_PROGRESS:
        return
    Operation.objects.filter(id=operation.id).update(
        status=Operation.Status.IN_PROGRESS,
        started_at=Coalesce(F("started_at"), timezone.now()),
        finished_at=None,
    )
    operation.status = Operation.Status.IN_PROGRESS


def _finish_operation(operation: Operation | None, status: str) -> None:
    if operation is None:
        return
    Operation.objects.filter(id=operation.id).update(
        status=status,
        started_at=Coalesce(F("started_at"), timezone.now()),
        finished_at=timezone.now(),
    )
    operation.status = status


def _execute(
    course: Course,
    step: ProvisioningStep,
    lease: Lease,
    task_id: str,
    *,
    claims_from_pool: bool = False,
) -> RunResult | None:
    """Run one step to its end; ``None`` when it completed (or was skipped).

    A step gives up after ``PROVISIONING_MAX_ATTEMPTS`` attempts in a row that confirmed no new
    resource: an attempt that made progress before failing (a laboratory step makes one resource
    per group) starts the count again, so flaky platforms slow a big course down but do not fail it.
    """
    handler = HANDLERS[step.name]
    streak = 0  # attempts in a row without progress
    while True:
        lease.heartbeat()
        attempt = _mark_running(step)
        ctx = StepContext(course=course, step=step, heartbeat=lease.heartbeat)
        try:
            with (
                audit_scope(
                    course_id=course.id, step=step.name, attempt=step.attempts, task_id=task_id
                ),
                # Shared write budgets serve the highest priority first, then the oldest course.
                turn_scope(
                    priority=course.priority,
                    since=course.created_at,
                    label=str(course.id),
                ),
            ):
                handler(ctx)
        except StepSkipped as skipped:
            _finish_attempt(attempt, Attempt.SKIPPED, str(skipped))
            _finish_step(step, StepStatus.SKIPPED, str(skipped))
            return None
        except IntegrationError as exc:
            if exc.permanent:
                _finish_attempt(attempt, Attempt.FAILED, str(exc))
                _finish_step(step, StepStatus.FAILED, str(exc))
                if isinstance(exc, PlatformUnreachableError):
                    _platform_unreachable(course, step, exc, release_server=claims_from_pool)
                return RunResult(Outcome.FAILED)
            streak = 1 if ctx.progress else streak + 1
            if streak >= settings.PROVISIONING_MAX_ATTEMPTS:
                message = f"Gave up after {streak} attempts without progress. Last error: {exc}"
                _finish_attempt(attempt, Attempt.FAILED, str(exc))
                _finish_step(step, StepStatus.FAILED, message)
                system_event_record(
                    kind=SystemEvent.Kind.RETRIES_EXHAUSTED,
                    message=f"{step.name} of course {course.id}: {message}",
                    course_id=course.id,
                    severity=SystemEvent.Severity.ERROR,
                )
                return RunResult(Outcome.FAILED)
            delay = backoff_seconds(streak, exc.retry_after)
            # In-process (no broker) nobody would run a re-scheduled task: wait here instead.
            if delay > settings.PROVISIONING_MAX_INLINE_WAIT_SECONDS and not runs_in_process():
                _finish_attempt(attempt, Attempt.DEFERRED, str(exc), retry_after=delay)
                _finish_step(step, StepStatus.PENDING, f"Waiting {delay:.0f}s: {exc}")
                system_event_record(
                    kind=SystemEvent.Kind.RATE_LIMITED,
                    message=f"{step.name} of course {course.id} waits {delay:.0f}s: {exc}",
                    course_id=course.id,
                    severity=SystemEvent.Severity.INFO,
                )
                return RunResult(Outcome.DEFERRED, retry_in=delay)
            _finish_attempt(attempt, Attempt.RETRYING, str(exc), retry_after=delay)
            _note(step, f"Attempt {step.attempts} failed, retrying in {delay:.1f}s: {exc}")
            _sleep_holding(lease, delay)
            continue
        except (LeaseLost, SoftTimeLimitExceeded) as exc:
            _finish_attempt(attempt, Attempt.INTERRUPTED, exc.__class__.__name__)
            raise  # not the step's fault: _run hands the course back
        except Exception as exc:  # a bug, not a platform answer: fail loudly, don't loop
            logger.exception("step %s of course %s crashed", step.name, course.id)
            _finish_attempt(attempt, Attempt.FAILED, f"{exc.__class__.__name__}: {exc}")
            _finish_step(
                step, StepStatus.FAILED, f"Internal error: {exc.__class__.__name__}: {exc}"
            )
            return RunResult(Outcome.FAILED)
        lease.heartbeat()  # the checkpoint is ours to write only while we hold the course
        _finish_attempt(attempt, Attempt.SUCCEEDED, "")
        _finish_step(step, StepStatus.COMPLETED, "")
        return None


def _platform_unreachable(
    course: Course, step: ProvisioningStep, exc: PlatformUnreachableError, *, release_server: bool
) -> None:
    """Nothing answered at the configured address: tell the operator which setting to check, and
    give back a pool server this run claimed and never used, so that it is not lost to the pool
    (a retry claims one again)."""
    released = discord_server_release(course=course) if release_server else None
    returned = f" Discord server {released} was returned to the pool." if released else ""
    system_event_record(
        kind=SystemEvent.Kind.PLATFORM_UNREACHABLE,
        message=f"{step.name} of course {course.id}: {exc}{returned}",
        course_id=course.id,
        severity=SystemEvent.Severity.ERROR,
        provider=exc.provider,
        url=exc.url,
        setting=exc.setting,
        released_server=released or "",
    )


def _sleep_holding(lease: Lease, seconds: float) -> None:
    """Sleep, proving the run alive at least every third of the lease: a wait for a rate limit
    may outlast ``PROVISIONING_LEASE_SECONDS`` (GitHub's reset is up to an hour away), and a run
    that falls silent that long is taken for dead and its course handed to another."""
    step = max(0.05, settings.PROVISIONING_LEASE_SECONDS / 3)
    deadline = time.monotonic() + seconds
    while True:
        lease.heartbeat()
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(step, left))


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter: about base * 2^(attempt-1), never below retry_after."""
    ceiling = settings.PROVISIONING_RETRY_BASE_SECONDS * 2 ** (attempt - 1)
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


def _mark_running(step: ProvisioningStep) -> StepAttempt:
    now = timezone.now()
    ProvisioningStep.objects.filter(id=step.id).update(
        status=StepStatus.IN_PROGRESS,
        attempts=F("attempts") + 1,
        started_at=Coalesce(F("started_at"), now),
        finished_at=None,
    )
    step.refresh_from_db(fields=["status", "attempts", "started_at", "finished_at"])
    # An attempt still RUNNING belongs to a run that died: it is over.
    StepAttempt.objects.filter(step=step, outcome=Attempt.RUNNING).update(
        outcome=Attempt.INTERRUPTED, finished_at=now
    )
    attempt = StepAttempt.objects.create(step=step, number=step.attempts, started_at=now)
    _changed(step)
    return attempt


def _finish_attempt(
    attempt: StepAttempt, outcome: str, error: str, *, retry_after: float | None = None
) -> None:
    StepAttempt.objects.filter(id=attempt.id).update(
        outcome=outcome,
        error=redact_text(error)[:4000],
        retry_after=retry_after,
        finished_at=timezone.now(),
    )


def _interrupt_attempts(*, course_id: uuid.UUID | str) -> None:
    StepAttempt.objects.filter(step__course_id=course_id, outcome=Attempt.RUNNING).update(
        outcome=Attempt.INTERRUPTED, finished_at=timezone.now()
    )


def _note(step: ProvisioningStep, message: str) -> None:
    ProvisioningStep.objects.filter(id=step.id).update(last_error=redact_text(message)[:4000])
    _changed(step)


def _finish_step(step: ProvisioningStep, status: str, error: str) -> None:
    done = status in ProvisioningStep.DONE or status == StepStatus.FAILED
    ProvisioningStep.objects.filter(id=step.id).update(
        status=status,
        last_error=redact_text(error)[:4000],
        finished_at=timezone.now() if done else None,
    )
    step.status = status
    _changed(step)


def _changed(step: ProvisioningStep) -> None:
    """Tell followers in this process (provisioning.signals); a faulty one never stops the run."""
    step_changed.send_robust(sender=ProvisioningStep, step=step, course_id=step.course_id)
