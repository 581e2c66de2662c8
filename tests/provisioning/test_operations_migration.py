"""Migration provisioning.0003: every course's existing steps become one PROVISION operation."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("provisioning", "0002_step_in_progress_and_choices")]
AFTER = [("provisioning", "0003_operations")]


def _migrate(executor: MigrationExecutor, targets):
    """Migrate provisioning to ``targets``, every other app to its latest migration."""
    executor.loader.build_graph()
    others = [n for n in executor.loader.graph.leaf_nodes() if n[0] != "provisioning"]
    executor.migrate(targets + others)
    return executor.loader.project_state(targets + others).apps


def test_steps_become_one_provision_operation_per_course():
    executor = MigrationExecutor(connection)
    try:
        apps = _migrate(executor, BEFORE)
        Course = apps.get_model("courses", "Course")
        Step = apps.get_model("provisioning", "ProvisioningStep")
        done = Course.objects.create(
            name="Done", semester="2026-fall", type="LECTURE", status="COMPLETED"
        )
        failed = Course.objects.create(
            name="Failed", semester="2026-fall", type="LECTURE", status="FAILED"
        )
        Course.objects.create(name="No steps", semester="2026-fall", type="LECTURE")
        for course, statuses in ((done, ["COMPLETED", "COMPLETED"]), (failed, ["FAILED"])):
            for order, status in enumerate(statuses, 1):
                Step.objects.create(
                    course=course, name=f"S{order}", order=order, status=status, attempts=2
                )

        apps = _migrate(executor, AFTER)
        Operation = apps.get_model("provisioning", "Operation")
        Step = apps.get_model("provisioning", "ProvisioningStep")
        operations = {o.course.name: o for o in Operation.objects.select_related("course")}
        assert set(operations) == {"Done", "Failed"}
        assert operations["Done"].kind == "PROVISION"
        assert operations["Done"].status == "COMPLETED"
        assert operations["Failed"].status == "FAILED"
        assert operations["Done"].created_at == operations["Done"].course.created_at
        assert not Step.objects.filter(operation=None).exists()
        assert Step.objects.filter(operation=operations["Done"]).count() == 2
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
