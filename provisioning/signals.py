"""Signals of the runner, for whoever follows a run in the same process.

``step_changed`` is sent (``sender=ProvisioningStep``, with ``step`` and ``course_id``) each time
a step starts an attempt, notes a failed attempt, or ends. ``manage.py provision_course --wait``
listens to it when provisioning runs inline, where no other thread could watch the database.
Receivers run inside the run: they must be quick and must not raise.
"""

from __future__ import annotations

from django.dispatch import Signal

step_changed = Signal()
