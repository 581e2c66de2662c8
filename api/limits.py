"""The per-key cap on courses waiting for or under provisioning."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction

from api.exceptions import LimitExceeded
from api.models import ApiKey
from courses.models import Course

ACTIVE = (Course.Status.PENDING, Course.Status.IN_PROGRESS)


@contextmanager
def active_courses_cap(*, api_key: ApiKey | None) -> Iterator[None]:
    """Wrap the creation of a course: a 429, and nothing created, past the key's cap.

    The count is taken after the creation, so that an invalid or duplicate course gets its own
    400 or 409 rather than a 429. The key's row is locked for the transaction: concurrent
    creates by one key are counted one after the other and cannot overshoot the cap.
    """
    cap = settings.API_MAX_ACTIVE_COURSES_PER_KEY
    if api_key is None or cap <= 0:  # staff sessions have no cap; 0 switches it off
        yield
        return
    with transaction.atomic():
        list(ApiKey.objects.select_for_update().filter(pk=api_key.pk).values_list("pk"))
        yield
        active = Course.objects.filter(created_by_key=api_key, status__in=ACTIVE).count()
        if active > cap:
            raise LimitExceeded(
                f"Active courses limit reached: this API key already has {active - 1} courses "
                f"pending or in progress (at most {cap}, API_MAX_ACTIVE_COURSES_PER_KEY). "
                "Retry when some have finished.",
                wait=settings.API_ACTIVE_COURSES_RETRY_AFTER,
            )
