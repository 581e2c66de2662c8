"""Priority with real Celery workers on Redis: high-priority courses sent after a batch of
low-priority ones are taken off the queue first (the broker's priority hint, provisioning.services
BROKER_PRIORITY) and complete first."""

from __future__ import annotations

import statistics

import pytest

from courses.models import Course
from courses.services import course_create
from provisioning.models import Operation
from tests.e2e.conftest import wait_for

pytestmark = pytest.mark.e2e


def test_high_priority_courses_sent_after_a_low_batch_complete_first(worker, platforms):
    platforms.add_servers(10)
    platforms.control.set_faults(latency_ms=100)  # each lecture takes a second or two
    low = [
        course_create(name=f"Low {n}", semester="2026-fall", type="LECTURE", priority="low")
        for n in range(8)
    ]
    high = [
        course_create(name=f"High {n}", semester="2026-fall", type="LECTURE", priority="high")
        for n in range(2)
    ]
    courses = Course.objects.filter(id__in=[c.id for c in low + high])

    def settled() -> bool:
        return courses.filter(status__in=Course.TERMINAL).count() == len(low) + len(high)

    wait_for(settled, 180, "the ten courses to settle", worker)
    assert set(courses.values_list("status", flat=True)) == {Course.Status.COMPLETED}

    def ready(batch: list[Course]) -> float:
        done = Operation.objects.filter(
            course__in=batch, kind=Operation.Kind.PROVISION
        ).values_list("finished_at", flat=True)
        return statistics.median(t.timestamp() for t in done if t is not None)

    assert ready(high) < ready(low), worker.tail()
