"""Flaky platforms: 20% of calls fail before any effect, 30% of writes fail after theirs."""

from __future__ import annotations

import pytest

from audit.models import AuditLog
from courses.models import Course
from tests.provisioning.helpers import SEEDED_FILES, assert_no_duplicates

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("seed", [1, 2])
def test_every_course_completes_without_duplicates(platforms, provision, seed):
    platforms.add_servers(3)
    platforms.control.set_faults(
        fail_before_rate=0.2, fail_after_rate=0.3, fail_after_mode="mixed", seed=seed
    )
    courses = [
        provision(name="Flaky Lecture", type="LECTURE"),
        provision(name="Flaky Lab", type="LABORATORY", groups=("A", "B", "C")),
        provision(name="Flaky Lecture 2", type="LECTURE"),
    ]

    assert [course.status for course in courses] == [Course.Status.COMPLETED] * 3
    log = platforms.requests()
    assert any(entry["fault"] == "before" for entry in log)
    assert any(entry["fault"] == "after" for entry in log)
    state = platforms.state()
    assert_no_duplicates(state)
    assert len(state["github"]["repos"]) == 5
    for repo in state["github"]["repos"].values():
        assert set(repo["files"]) == SEEDED_FILES
    channels = [c for g in state["discord"]["guilds"].values() for c in g["channels"]]
    assert len(channels) == 4 + 3 + 4
    assert AuditLog.objects.count() == len(log)
