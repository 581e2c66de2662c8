"""The Celery application, and the one answer to "where does provisioning run?".

Configuration comes from Django settings (``CELERY_*``).
"""

import os

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

CELERY, BACKGROUND, INLINE = "celery", "background", "inline"


def runs_in_process() -> bool:
    """True when there is no worker: provisioning runs in this process (no broker configured).

    Ask the app, not Django's settings: tests, the demo and the end-to-end fixtures switch the
    app's configuration at run time.
    """
    return bool(app.conf.task_always_eager)


def execution_mode() -> str:
    """Where a course's provisioning runs once it is enqueued:

    - ``celery``: a broker is configured; a worker runs the task.
    - ``background`` (the embedded default, no broker): a thread of this process
      (``provisioning.background``), so that a request or an admin save answers at once.
    - ``inline``: in the caller, before ``course_create`` returns (the test suite, the demo).
    """
    if not runs_in_process():
        return CELERY
    return INLINE if settings.PROVISIONING_EXECUTION == INLINE else BACKGROUND


@app.on_after_configure.connect
def schedule_recovery(sender: Celery, **kwargs: object) -> None:
    """Beat runs the recovery sweep (provisioning.recovery) on a fixed interval."""
    interval = settings.PROVISIONING_RECOVERY_INTERVAL_SECONDS
    sender.add_periodic_task(
        interval,
        # A sweep still queued when the next is due is dropped: sweeps must not pile up
        # behind a backlog of provisioning tasks.
        sender.signature(
            "provisioning.tasks.recover_stalled_courses", options={"expires": interval}
        ),
        name="recover stalled courses",
    )
    # Webhook deliveries whose next attempt is due (webhooks.dispatch).
    every = settings.WEBHOOK_SWEEP_SECONDS
    sender.add_periodic_task(
        every,
        sender.signature("webhooks.tasks.deliver_due_webhooks", options={"expires": every}),
        name="deliver due webhooks",
    )
    # Scheduled verify (provisioning.schedule): a few due courses per tick; 0 hours is off.
    if settings.VERIFY_INTERVAL_HOURS > 0:
        tick = settings.VERIFY_SWEEP_SECONDS
        sender.add_periodic_task(
            tick,
            sender.signature("provisioning.tasks.verify_due_courses", options={"expires": tick}),
            name="verify due courses",
        )
