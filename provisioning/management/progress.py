"""How ``manage.py provision_course`` shows a run: each step as it starts and ends, then what was
made or why it failed.

On a terminal the steps are one line each, rewritten in place (ANSI cursor moves); anywhere else
(a pipe, a log file, CI) each change is one plain line, so that the output reads as a log.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable

from django.core.management.base import OutputWrapper

from provisioning.models import ExternalResource, ProvisioningStep

Status = ProvisioningStep.Status
ENDED = (*ProvisioningStep.DONE, Status.FAILED)
State = tuple[str, int, str]  # status, attempts, last error


def _state(step: ProvisioningStep) -> State:
    return (step.status, step.attempts, step.last_error)


class StepProgress:
    """Renders successive snapshots of a course's steps; only changes are written."""

    def __init__(self, out: OutputWrapper, *, live: bool) -> None:
        self.out = out
        self.live = live
        self.seen: dict[str, State] = {}
        self.drawn: list[str] = []

    def baseline(self, steps: Iterable[ProvisioningStep]) -> None:
        """What the steps were before this run (a retry keeps its completed steps): not news."""
        self.seen = {step.name: _state(step) for step in steps}

    def update(self, steps: Iterable[ProvisioningStep]) -> None:
        steps = list(steps)
        if self.live:
            self._redraw(steps)
        else:
            for step in steps:
                for line in self._news(step):
                    self.out.write(line)
        self.seen.update((step.name, _state(step)) for step in steps)

    def _news(self, step: ProvisioningStep) -> list[str]:
        """Plain lines for what changed in one step since the last snapshot."""
        status, attempts, error = self.seen.get(step.name, (Status.PENDING, 0, ""))
        ended = step.status in ENDED
        lines = []
        if not ended and step.last_error and step.last_error != error:
            lines.append(f"{step.name} {step.last_error}")  # a failed attempt, a wait
        if step.attempts > attempts:
            started = "started" if step.attempts == 1 else f"attempt {step.attempts}"
            lines.append(f"{step.name} {started}")
        if ended and (status not in ENDED or step.attempts > attempts):
            lines.append(f"{step.name} {_ended(step)}")
        return lines

    def _redraw(self, steps: list[ProvisioningStep]) -> None:
        width = shutil.get_terminal_size().columns - 1  # a wrapped line would break the count
        lines = [_line(step)[:width] for step in steps]
        if lines == self.drawn:
            return
        up = f"\x1b[{len(self.drawn)}F" if self.drawn else ""  # to the start of our first line
        self.out.write(up + "".join(f"\x1b[2K{line}\n" for line in lines), ending="")
        self.out.flush()
        self.drawn = lines


def _ended(step: ProvisioningStep) -> str:
    if step.status == Status.COMPLETED:
        took = step.duration_seconds
        return "COMPLETED" + (f" in {took:.1f}s" if took is not None else "")
    if step.status == Status.SKIPPED:
        return f"SKIPPED - {step.last_error}"
    tries = "1 attempt" if step.attempts == 1 else f"{step.attempts} attempts"
    return f"FAILED after {tries} - {step.last_error}"


def _line(step: ProvisioningStep) -> str:
    """One step on a terminal: a mark, its name, where it is."""
    if step.status in ENDED:
        mark = {Status.COMPLETED: "ok", Status.SKIPPED: "--", Status.FAILED: "!!"}[
            Status(step.status)
        ]
        return f"[{mark}] {step.name:<32} {_ended(step)}"
    if step.status == Status.PENDING and step.attempts == 0:
        return f"[  ] {step.name:<32} pending"
    note = f" - {step.last_error}" if step.last_error else ""
    if step.status == Status.PENDING:
        return f"[..] {step.name:<32} waiting{note}"
    return f"[>>] {step.name:<32} running, attempt {step.attempts}{note}"


def made_lines(resources: Iterable[ExternalResource]) -> list[str]:
    """The summary of a completed course: its server, channels, roles and repositories."""
    titles = {
        "server": "Discord server",
        "channel": "Channel",
        "role": "Role",
        "repository": "Repository",
    }
    lines = []
    for resource in resources:
        name = resource.data.get("full_name") or resource.data.get("name") or resource.key
        if resource.kind == "channel":
            name = f"#{name}"
        where = resource.url or resource.external_id
        lines.append(f"  {titles.get(resource.kind, resource.kind):<15} {name:<40} {where}")
    return lines
