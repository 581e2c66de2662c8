"""The Celery task: thin, it loads nothing but the id and calls the runner.

``acks_late`` with ``reject_on_worker_lost``: a worker killed mid-run leaves the message to be
delivered again, which is safe because every step is idempotent and checkpointed.
"""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from audit.models import SystemEvent
from audit.services import system_event_record
from provisioning.recovery import courses_recover
from provisioning.runner import run_course


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # re-scheduling is for rate limits and busy courses, bounded by the runner
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def provision_course(self, course_id: str) -> str:
    try:
        result = run_course(course_id, task_id=self.request.id or "")
    except SoftTimeLimitExceeded:
        system_event_record(
            kind=SystemEvent.Kind.TIME_LIMIT,
            message=f"Provisioning of course {course_id} hit the worker's time limit; "
            "the recovery sweep will resume it.",
            course_id=course_id,
            severity=SystemEvent.Severity.ERROR,
        )
        raise
    if result.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=result.retry_in)
    return result.outcome


@shared_task
def recover_stalled_courses() -> int:
    """Periodic (beat): re-enqueue courses whose run died or whose message was lost."""
    return len(courses_recover())
