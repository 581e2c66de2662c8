"""The step of a VERIFY operation: compare the course's resources with the platforms, store the
report. Reads only, so a repeat after a crash costs the reads again and nothing else."""

from __future__ import annotations

from provisioning.context import StepContext
from provisioning.drift import course_drift_check, drift_report_record


def verify_resources(ctx: StepContext) -> None:
    ctx.heartbeat()
    resources = course_drift_check(course=ctx.course, discord=ctx.discord, github=ctx.github)
    ctx.heartbeat()
    drift_report_record(course=ctx.course, resources=resources, operation=ctx.step.operation)
