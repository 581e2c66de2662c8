"""An import whose applying process died (a crash, a restart, a request cut by the server's
timeout) does not stay APPLYING for ever: the recovery sweep, or whoever reads it, marks it
interrupted; its created courses go on, and it ends FAILED with import.completed, once."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from imports import services
from imports.models import Import, ImportRow
from imports.services import APPLY_STALL, import_apply, import_refresh
from provisioning.recovery import recovery_sweep

pytestmark = pytest.mark.django_db

CSV = "name,semester,type,groups\n" + "".join(
    f"Course {n},2026-fall,lecture,\n" for n in range(1, 5)
)


class ProcessDied(BaseException):
    """What the apply sees of a killed worker: it stops there (not an Exception it records)."""


@pytest.fixture
def dies_at_row(monkeypatch):
    def arm(number: int) -> None:
        create, seen = services._create, []

        def create_or_die(record, row, priority, creator):
            seen.append(row.line)
            if len(seen) == number:
                raise ProcessDied
            return create(record, row, priority, creator)

        monkeypatch.setattr(services, "_create", create_or_die)

    return arm


def age(record: Import, by: timedelta) -> None:
    """As if the apply had recorded its last row ``by`` ago."""
    Import.objects.filter(id=record.id).update(created_at=timezone.now() - by)
    ImportRow.objects.filter(import_run=record).update(created_at=timezone.now() - by)


def test_an_import_cut_off_part_way_is_found_by_the_sweep_and_ends_failed(
    platforms, dies_at_row, emitted, django_capture_on_commit_callbacks
):
    platforms.add_servers(4)
    dies_at_row(3)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ProcessDied):
        import_apply(content=CSV, format="csv")
    record = Import.objects.get()
    assert record.status == Import.Status.APPLYING
    assert record.rows.filter(outcome="CREATED").count() == 2  # each committed with its course

    recovery_sweep()  # a live apply may still be at work: left alone
    assert Import.objects.get().status == Import.Status.APPLYING

    age(record, APPLY_STALL + timedelta(seconds=1))
    recovery_sweep()

    record.refresh_from_db()
    assert record.interrupted_at is not None
    # Its two courses were provisioned already: it ends at once, FAILED (rows 3 and 4 missing).
    assert record.status == Import.Status.FAILED and record.finished_at is not None
    assert [call["data"]["status"] for call in emitted] == ["FAILED"]
    assert emitted[0]["data"]["interrupted"] is True
    assert emitted[0]["data"]["coursesCompleted"] == 2
    recovery_sweep()
    import_refresh(import_id=record.id)
    assert len(emitted) == 1  # marked once

    # The documented way on: import the file again; the created courses are clashes.
    with django_capture_on_commit_callbacks(execute=True):
        again = import_apply(content=CSV, format="csv")
    outcomes = dict(again.rows.values_list("line", "outcome"))
    assert outcomes == {2: "INVALID", 3: "INVALID", 4: "CREATED", 5: "CREATED"}


def test_an_interrupted_import_follows_its_courses_still_running(platforms, dies_at_row, emitted):
    platforms.add_servers(4)
    dies_at_row(2)
    # The course of row 1 is created, its provisioning not run (as if queued for a worker).
    with pytest.raises(ProcessDied):
        import_apply(content=CSV, format="csv")
    record = Import.objects.get()
    age(record, APPLY_STALL + timedelta(minutes=5))

    recovery_sweep()

    record.refresh_from_db()
    assert record.status == Import.Status.PROVISIONING and record.interrupted_at is not None
    assert emitted == []  # it ends when its course does


def test_an_all_or_nothing_import_cut_off_created_nothing_and_fails_when_read(
    api, dies_at_row, emitted
):
    dies_at_row(2)
    with pytest.raises(ProcessDied):
        import_apply(content=CSV, format="csv", all_or_nothing=True)
    record = Import.objects.get()
    assert not record.rows.exists()  # its one transaction rolled back
    age(record, APPLY_STALL + timedelta(seconds=1))

    body = api.get(f"/imports/{record.id}").json()  # reading it is enough, before any sweep

    assert body["status"] == "FAILED"
    assert body["interruptedAt"] is not None and body["finishedAt"] is not None
    assert body["counts"]["created"] == 0
    assert [call["data"]["interrupted"] for call in emitted] == [True]


def test_an_old_import_still_recording_rows_is_left_alone():
    record = Import.objects.create(status=Import.Status.APPLYING, format="csv")
    Import.objects.filter(id=record.id).update(created_at=timezone.now() - timedelta(hours=1))
    ImportRow.objects.create(import_run=record, line=2, outcome="INVALID")  # just now

    recovery_sweep()

    record.refresh_from_db()
    assert record.status == Import.Status.APPLYING and record.interrupted_at is None


def test_an_apply_that_died_after_recording_every_row_is_not_interrupted(
    platforms, emitted, django_capture_on_commit_callbacks
):
    """Its rows are all there (it died before its last update): finished as the apply would,
    following its courses, not FAILED for rows that were never missing."""
    platforms.add_servers(4)
    dies = _dies_on_the_final_update(Import.objects.filter)
    with (
        mock.patch.object(Import.objects, "filter", dies),
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ProcessDied),
    ):
        import_apply(content=CSV, format="csv")
    record = Import.objects.get()
    assert record.status == Import.Status.APPLYING and record.rows.count() == 4
    age(record, APPLY_STALL + timedelta(seconds=1))

    recovery_sweep()

    record.refresh_from_db()
    assert record.interrupted_at is None
    assert record.status == Import.Status.COMPLETED  # its four courses were provisioned inline
    assert [call["data"]["interrupted"] for call in emitted] == [False]


def _dies_on_the_final_update(filter_):
    def filter_or_die(*args, **kwargs):
        if set(kwargs) == {"id", "status"}:  # import_apply's last update, from APPLYING
            raise ProcessDied
        return filter_(*args, **kwargs)

    return filter_or_die
