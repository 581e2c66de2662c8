"""rows_insert: several tables' rows in one round trip on PostgreSQL, bulk_create elsewhere."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from common.rows import RowsInsertError, rows_insert
from courses.models import Course, LabGroup
from provisioning.models import Operation, ProvisioningStep
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db
ON_POSTGRESQL = connection.vendor == "postgresql"


def course_rows(name: str = "Networks", groups: int = 3, steps: int = 2):
    course = Course(
        id=uuid.uuid4(),
        name=name,
        semester="2026-fall",
        slug=f"2026-fall-{name.lower()}",
        type=Course.Type.LABORATORY,
    )
    made_groups = [
        LabGroup(course=course, name=f"Group {n}", number=n) for n in range(1, groups + 1)
    ]
    operation = Operation(course=course, kind=Operation.Kind.PROVISION, params={"why": "test"})
    made_steps = [
        ProvisioningStep(course=course, operation=operation, name=f"STEP_{n}", order=n)
        for n in range(1, steps + 1)
    ]
    return course, made_groups, operation, made_steps


def test_the_rows_are_written_with_their_keys_and_the_models_defaults():
    course, groups, operation, steps = course_rows()

    with CaptureQueriesContext(connection) as queries:
        rows_insert([course], groups, [operation], steps)

    # One statement on PostgreSQL; one insert per table elsewhere.
    assert len(queries.captured_queries) == (1 if ON_POSTGRESQL else 4)
    for obj in [course, *groups, operation, *steps]:
        assert obj.pk is not None and not obj._state.adding and obj._state.db == "default"
    stored = Course.objects.get(pk=course.pk)
    assert (stored.status, stored.priority) == ("PENDING", "normal")  # the model's defaults
    # auto_now_add / auto_now: set on the instance, as a save would, and written so
    assert course.created_at is not None
    assert (stored.created_at, stored.updated_at) == (course.created_at, course.updated_at)
    assert sorted(LabGroup.objects.filter(course=course).values_list("id", "number")) == [
        (group.pk, group.number) for group in groups
    ]
    assert Operation.objects.get(pk=operation.pk).params == {"why": "test"}
    # The steps point at the operation made in the same statement, in the table and in memory.
    assert list(
        ProvisioningStep.objects.filter(course=course).values_list("id", "operation_id", "status")
    ) == [(step.pk, operation.pk, "PENDING") for step in steps]
    assert [step.operation_id for step in steps] == [operation.pk] * 2
    assert [group.course_id for group in groups] == [course.pk] * 3


@pytest.mark.parametrize(("groups", "steps"), [(1, 1), (40, 5), (0, 1)])
def test_one_row_or_many_in_a_batch(groups, steps):
    """One row is written with VALUES, several through unnest: both give the same rows."""
    course, made_groups, operation, made_steps = course_rows("O'Brien 100% %s", groups, steps)

    rows_insert([course], made_groups, [operation], made_steps)

    assert Course.objects.get(pk=course.pk).name == "O'Brien 100% %s"
    assert list(LabGroup.objects.filter(course=course).values_list("number", flat=True)) == list(
        range(1, groups + 1)
    )
    assert list(
        ProvisioningStep.objects.filter(operation=operation).values_list("order", flat=True)
    ) == list(range(1, steps + 1))


def test_a_unique_value_already_taken_writes_nothing():
    CourseFactory(name="Networks", semester="2026-fall")
    course, groups, operation, steps = course_rows("Networks")

    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert([course], groups, [operation], steps)

    assert not Course.objects.filter(pk=course.pk).exists()
    assert not LabGroup.objects.filter(course_id=course.pk).exists()
    assert not Operation.objects.filter(course_id=course.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_failure_leaves_nothing_written():
    """No block of the caller's: the statement (PostgreSQL) or rows_insert's own transaction
    (elsewhere) is all or nothing, even when the last table's insert is the one that fails."""
    course, groups, operation, steps = course_rows()
    clash = Course(id=course.id, name="Other", semester="2026-fall", slug="2026-fall-other")

    with pytest.raises(IntegrityError):
        rows_insert([course], groups, [operation], steps, [clash])

    assert not Course.objects.filter(pk=course.pk).exists()
    assert not LabGroup.objects.exists()
    assert not Operation.objects.exists()


@pytest.mark.sqlite
@pytest.mark.django_db(transaction=True)
def test_on_sqlite_each_batch_is_a_bulk_create_in_one_transaction():
    """The embedded default: one insert per batch, all or nothing."""
    course, groups, operation, steps = course_rows()
    clash = Course(id=course.id, name="Other", semester="2026-fall", slug="2026-fall-other")

    with pytest.raises(IntegrityError):
        rows_insert([course], groups, [operation], steps, [clash])  # the last one fails
    assert not Course.objects.filter(pk=course.pk).exists()
    assert not Operation.objects.exists()

    course, groups, operation, steps = course_rows()
    rows_insert([course], groups, [operation], steps)
    assert ProvisioningStep.objects.filter(operation=operation).count() == 2


def test_nothing_to_write_sends_nothing():
    with CaptureQueriesContext(connection) as queries:
        rows_insert([], [])
    assert queries.captured_queries == []


def test_one_model_per_batch():
    course, _, operation, _ = course_rows()
    with pytest.raises(RowsInsertError, match="One model per batch"):
        rows_insert([course, operation])


@pytest.mark.skipif(
    not ON_POSTGRESQL, reason="bulk_create's own rules elsewhere; CI runs this on PostgreSQL"
)
def test_an_expression_is_refused():
    course, *_ = course_rows()
    course.priority = F("name")
    with pytest.raises(RowsInsertError, match="plain values only"):
        rows_insert([course])


@pytest.mark.skipif(
    not ON_POSTGRESQL, reason="bulk_create elsewhere takes any order; CI runs this on PostgreSQL"
)
def test_a_row_may_only_point_at_an_unsaved_instance_alone_in_an_earlier_batch():
    course, _, operation, steps = course_rows()
    other = Operation(course=course, kind=Operation.Kind.VERIFY)

    with pytest.raises(RowsInsertError, match="no earlier batch holds alone"):
        rows_insert([course], [operation, other], steps)
    with pytest.raises(RowsInsertError, match="no earlier batch holds alone"):
        rows_insert([course], steps, [operation])  # the operation comes after its steps
