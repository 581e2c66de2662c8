"""An import ends when its last course does: the runner's ``step_changed`` says when a step ends,
in whichever process runs it. An import whose applying process died is found by the recovery
sweep (``recovery_swept``)."""

from __future__ import annotations

import logging
from typing import Any

from courses.models import Course
from imports.models import ImportRow
from imports.services import import_refresh, imports_interrupted_mark
from provisioning.models import ProvisioningStep
from provisioning.signals import recovery_swept, step_changed

logger = logging.getLogger(__name__)


def import_follow_step(*, sender: Any, step: ProvisioningStep, course_id: Any, **_: Any) -> None:
    if step.status not in (*ProvisioningStep.DONE, ProvisioningStep.Status.FAILED):
        return
    try:
        import_ids = ImportRow.objects.filter(course_id=course_id).values_list(
            "import_run_id", flat=True
        )
        for import_id in import_ids:
            import_refresh(import_id=import_id)
    except Exception:  # a receiver must never stop the run; GET /imports/{id} refreshes too
        logger.exception("could not follow the import of course %s", course_id)


step_changed.connect(import_follow_step, sender=ProvisioningStep, dispatch_uid="imports_follow")


def imports_recover(*, sender: Any, **_: Any) -> None:
    try:
        imports_interrupted_mark()
    except Exception:  # a receiver must never stop the sweep; reading the import marks it too
        logger.exception("could not look for interrupted imports")


recovery_swept.connect(imports_recover, sender=Course, dispatch_uid="imports_recover")
