"""Outcomes of a step other than success, raised by handlers and the runner."""

from __future__ import annotations

from integrations.errors import PermanentError


class StepSkipped(Exception):
    """The step cannot apply to this course and the operator chose to skip it; says why."""


class ProvisioningConfigError(PermanentError):
    """Something only an operator can fix (no pool server, bot missing, conflicting name)."""


class LeaseLost(Exception):
    """Another run took over this course (ours was presumed dead): stop without writing."""
