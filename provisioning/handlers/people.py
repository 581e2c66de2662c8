"""Handlers of SYNC_MEMBERS: the roster carried to Discord and GitHub.

TO BE WRITTEN (helper: people sync).
"""

from __future__ import annotations

from provisioning.context import StepContext


def sync_staff_role(ctx: StepContext) -> None:
    raise NotImplementedError


def sync_invite_links(ctx: StepContext) -> None:
    raise NotImplementedError


def sync_github_teams(ctx: StepContext) -> None:
    raise NotImplementedError


def sync_github_members(ctx: StepContext) -> None:
    raise NotImplementedError
