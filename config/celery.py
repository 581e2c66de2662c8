"""The Celery application. Configuration comes from Django settings (``CELERY_*``)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def runs_in_process() -> bool:
    """True when tasks execute eagerly in the caller (no broker: the embedded default).

    The one answer to "is there a worker?": ask the app, not Django's settings, since tests and
    the demo switch the app's configuration at run time.
    """
    return bool(app.conf.task_always_eager)


@app.on_after_configure.connect
def schedule_recovery(sender: Celery, **kwargs: object) -> None:
    """Beat runs the recovery sweep (provisioning.recovery) on a fixed interval."""
    from django.conf import settings

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
