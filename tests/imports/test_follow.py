"""An import follows its courses: it ends when the last one does, once, with import.completed."""

from __future__ import annotations

import pytest

from imports.models import Import
from imports.services import import_apply, import_refresh
from provisioning.services import provisioning_retry

pytestmark = pytest.mark.django_db

CSV = "name,semester,type,groups\nAlgorithms,2026-fall,lecture,\nNetworks,2026-fall,lecture,\n"


def test_the_last_course_ending_completes_the_import_once(
    platforms, emitted, django_capture_on_commit_callbacks
):
    platforms.add_servers(2)
    with django_capture_on_commit_callbacks(execute=True):
        record = import_apply(content=CSV, format="csv")
        assert Import.objects.get(id=record.id).status == Import.Status.PROVISIONING
    # Finished by the runner's signal, not by a read.
    record.refresh_from_db()
    assert record.status == Import.Status.COMPLETED
    assert [call["type"] for call in emitted] == ["import.completed"]
    assert emitted[0]["data"]["status"] == "COMPLETED"
    assert emitted[0]["data"]["coursesCompleted"] == 2
    import_refresh(import_id=record.id)
    assert len(emitted) == 1  # reading it again sends nothing


def test_a_failed_course_fails_the_import_until_it_is_retried(
    platforms, emitted, django_capture_on_commit_callbacks
):
    platforms.add_servers(1)  # one server short: the second course fails at its Discord step
    with django_capture_on_commit_callbacks(execute=True):
        record = import_apply(content=CSV, format="csv")
    record.refresh_from_db()
    assert record.status == Import.Status.FAILED
    assert emitted[-1]["data"]["coursesFailed"] == 1
    failed = record.rows.get(course__status="FAILED").course
    platforms.add_servers(1)
    with django_capture_on_commit_callbacks(execute=True):
        provisioning_retry(course=failed)
    record.refresh_from_db()
    assert record.status == Import.Status.COMPLETED
    assert [call["data"]["status"] for call in emitted] == ["FAILED", "COMPLETED"]
