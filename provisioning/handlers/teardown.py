"""Handlers of TEARDOWN: remove what the course recorded as made, in reverse order.

TO BE WRITTEN (helper: teardown).
"""

from __future__ import annotations

from provisioning.context import StepContext


def delete_channels(ctx: StepContext) -> None:
    raise NotImplementedError


def delete_roles(ctx: StepContext) -> None:
    raise NotImplementedError


def remove_teams(ctx: StepContext) -> None:
    raise NotImplementedError


def remove_repos(ctx: StepContext) -> None:
    raise NotImplementedError


def release_server(ctx: StepContext) -> None:
    raise NotImplementedError
