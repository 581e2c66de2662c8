"""Turns the runner's signals into webhook events."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.dispatch import receiver

from provisioning.signals import course_finished
from webhooks.services import webhook_course_finished

logger = logging.getLogger(__name__)


@receiver(course_finished, dispatch_uid="webhooks.course_finished")
def _course_finished(sender: Any, *, course_id: UUID | str, status: str, **kwargs: Any) -> None:
    # The runner sends robustly (a receiver cannot stop a run), which would hide a failure here.
    try:
        webhook_course_finished(course_id=course_id, status=status)
    except Exception:
        logger.exception("webhook event for course %s could not be recorded", course_id)
