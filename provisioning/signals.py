"""Signals of the runner, for whoever follows a run in the same process.

``step_changed`` is sent (``sender=ProvisioningStep``, with ``step`` and ``course_id``) each time
a step starts an attempt, notes a failed attempt, or ends. ``manage.py provision_course --wait``
listens to it when provisioning runs inline, where no other thread could watch the database.
Receivers run inside the run: they must be quick and must not raise.

``course_finished`` is sent (``sender=Course``, with ``course_id`` and ``status``) when a run
releases a course as ``COMPLETED`` or ``FAILED``: once per run that ends it. Webhooks listen to it
(``webhooks.receivers``), so that the runner knows nothing of them.

``recovery_swept`` is sent (``sender=Course``) after each recovery sweep, beat's task or the
embedded sweeper's: apps above provisioning recover their own work there (imports: an import whose
applying process died, ``imports.receivers``). Receivers must not raise.
"""

from __future__ import annotations

from django.dispatch import Signal

step_changed = Signal()
course_finished = Signal()
recovery_swept = Signal()
