"""Handlers of ARCHIVE and UNARCHIVE (semester end): repositories archived, channels read-only for
members, the server's name prefixed; unarchive puts back exactly what archive changed.

TO BE WRITTEN (helper: archive).
"""

from __future__ import annotations

from provisioning.context import StepContext


def archive_channels(ctx: StepContext) -> None:
    raise NotImplementedError


def archive_server(ctx: StepContext) -> None:
    raise NotImplementedError


def archive_repos(ctx: StepContext) -> None:
    raise NotImplementedError


def unarchive_repos(ctx: StepContext) -> None:
    raise NotImplementedError


def unarchive_server(ctx: StepContext) -> None:
    raise NotImplementedError


def unarchive_channels(ctx: StepContext) -> None:
    raise NotImplementedError
