"""Signals of the runner, for whoever follows a run in the same process.

``step_changed`` is sent (``sender=ProvisioningStep``, with ``step`` and ``course_id``) each time
a step starts an attempt, notes a failed attempt, or ends. ``manage.py provision_course --wait``
listens to it when provisioning runs inline, where no other thread could watch the database.
Receivers run inside the run: they must be quick and must not raise.

``course_finished`` is sent (``sender=Course``, with ``course_id`` and ``status``) when a run
releases a course as ``COMPLETED`` or ``FAILED``: once per run that ends it. Webhooks listen to it
(``webhooks.receivers``), so that the runner knows nothing of them.
"""

from __future__ import annotations

from django.dispatch import Signal

step_changed = Signal()
course_finished = Signal()
