"""Handlers of the change operations that have no creation of their own (a rename)."""

from __future__ import annotations

from provisioning.context import StepContext
from provisioning.handlers.github import GITHUB, _description, repo_targets
from provisioning.models import ExternalResource, ResourceKind


def describe_repos(ctx: StepContext) -> None:
    """After a rename: each repository's description names the course anew, marker kept.

    The repositories keep their names (``Course.slug``). One read per repository, and a write
    only where the description differs: a repeat after a crash costs the reads only.
    """
    for target in repo_targets(ctx.course):
        recorded = ExternalResource.objects.filter(
            course=ctx.course,
            provider=GITHUB,
            kind=ResourceKind.REPOSITORY,
            key=target.name,
            state=ExternalResource.State.CONFIRMED,
        ).exists()
        if not recorded:
            continue  # never made: nothing to describe
        wanted = _description(ctx.course, target)
        ctx.heartbeat()
        if ctx.github.get_repo(target.name).description != wanted:
            ctx.github.rename_repo(target.name, target.name, description=wanted)
