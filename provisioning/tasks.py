"""The Celery task: thin, it loads nothing but the id and calls the runner (services send it by
name, so that they need not import this module).

``acks_late`` with ``reject_on_worker_lost``: a worker killed mid-run leaves the message to be
delivered again, which is safe because every step is idempotent and checkpointed.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from provisioning.recovery import recovery_sweep
from provisioning.runner import run_course
from provisioning.schedule import courses_verify_due


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # re-scheduling is for rate limits and busy courses, bounded by the runner
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def provision_course(self, course_id: str) -> str:
    result = run_course(course_id, task_id=self.request.id or "")
    if result.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=min(result.retry_in, max_defer_seconds()))
    return result.outcome


def max_defer_seconds() -> float:
    """The longest a re-scheduled task waits: well under the recovery grace period (or the sweep
    would start a second chain of retries) and under Redis's visibility timeout (or the message
    would be delivered again). A task that comes back early is simply deferred again."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    return max(1.0, min(settings.PROVISIONING_RECOVERY_GRACE_SECONDS, visibility) / 2)


@shared_task
def recover_stalled_courses() -> int:
    """Periodic (beat): re-enqueue courses whose run died or whose message was lost, and start
    the roster syncs whose waiting invitations may now be sent or whose roster changed while
    the course was busy."""
    return recovery_sweep()


@shared_task
def verify_due_courses() -> int:
    """Periodic (beat): start a VERIFY for the few courses due (provisioning.schedule)."""
    return len(courses_verify_due())
