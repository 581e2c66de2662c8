"""Handler of REPAIR: put back what verify found missing or changed.

TO BE WRITTEN (helper: repair).
"""

from __future__ import annotations

from provisioning.context import StepContext


def repair_resources(ctx: StepContext) -> None:
    raise NotImplementedError
