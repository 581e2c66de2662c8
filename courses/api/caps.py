"""The cap on courses waiting for or under provisioning, per API key (or staff session); a course
running a later operation (a verify, an archive) is provisioned and does not count.

A cap on what a key has in flight, not a rate limit: it counts courses, not requests. Rate limits
live in ``integrations.ratelimit`` (Discord and GitHub) and ``api.throttles`` (requests per key).
It belongs to the courses API because it wraps the creation of a course by an API caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from api.exceptions import LimitExceeded
from api.models import ApiKey
from courses.models import Course
from provisioning.models import Operation


def course_owner(*, course: Course) -> tuple[ApiKey | None, Any]:
    """Who a course counts against: the key that created it, or else the staff member who did
    (admin or API session); ``(None, None)`` for a course made with the CLI."""
    if course.created_by_key_id is not None:
        return course.created_by_key, None
    return None, course.created_by_user


@contextmanager
def active_courses_cap(*, api_key: ApiKey | None, user: Any = None) -> Iterator[None]:
    """Wrap the creation or the retry of a course: a 429, and nothing done, past the owner's cap.

    The owner is an API key or, for a staff session, the staff member (``user``): both are held
    to ``API_MAX_ACTIVE_COURSES_PER_KEY``. The count is taken after the work, so that an invalid
    or duplicate course gets its own 400 or 409 rather than a 429. The owner's row is locked for
    the transaction: concurrent creates by one owner are counted one after the other and cannot
    overshoot the cap.
    """
    cap = settings.API_MAX_ACTIVE_COURSES_PER_KEY
    if cap <= 0 or (api_key is None and user is None):  # 0 switches it off; admin/CLI courses
        yield
        return
    if api_key is not None:
        owner_rows: QuerySet[Any] = ApiKey.objects.filter(pk=api_key.pk)
        owned = Course.objects.filter(created_by_key=api_key)
        who = "this API key"
    else:
        owner_rows = get_user_model().objects.filter(pk=user.pk)
        owned = Course.objects.filter(created_by_user=user)
        who = "this staff account"
    with transaction.atomic():
        list(owner_rows.select_for_update().values_list("pk"))
        yield
        # Provisioning in flight: a course busy with a later operation (the scheduled verify,
        # an archive) is provisioned already and does not hold its owner back.
        later = Operation.objects.filter(
            course=OuterRef("pk"), status__in=Operation.ACTIVE
        ).exclude(kind=Operation.Kind.PROVISION)
        active = owned.filter(status__in=Course.ACTIVE).exclude(Exists(later)).count()
        if active > cap:
            raise LimitExceeded(
                f"Active courses limit reached: {who} already has {active - 1} courses "
                f"pending or in progress (at most {cap}, API_MAX_ACTIVE_COURSES_PER_KEY). "
                "Retry when some have finished.",
                wait=settings.API_ACTIVE_COURSES_RETRY_AFTER,
            )
