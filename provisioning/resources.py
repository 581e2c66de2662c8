"""The ledger of external resources: intent before each create, the platform's id right after.

:func:`resource_ensure` is the one idempotency rule every handler follows:

- recorded and confirmed: nothing to do, no call;
- recorded as intended only: an earlier attempt may have created it and died before recording
  the answer, so look on the platform first (``find``), and create only if it is not there;
- not recorded: write the intent, then create (unless ``look_first``, see below).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from courses.models import LabGroup
from provisioning.context import StepContext
from provisioning.models import ExternalResource


@dataclass(frozen=True)
class Found:
    """What a platform told us about a resource."""

    external_id: str
    url: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def resource_ensure(
    ctx: StepContext,
    *,
    provider: str,
    kind: str,
    key: str,
    create: Callable[[], Found],
    find: Callable[[], Found | None] | None = None,
    lab_group: LabGroup | None = None,
    look_first: bool = False,
) -> ExternalResource:
    """Return the confirmed resource, creating it on the platform at most once.

    ``look_first`` also looks before creating a resource that was never recorded: right for a
    Discord server bound to this one course, where a same-named channel (such as the #general of
    Discord's server template) is ours to adopt and a listing costs one cheap read.
    """
    resource, created = ExternalResource.objects.get_or_create(
        course=ctx.course,
        provider=provider,
        kind=kind,
        key=key,
        defaults={"lab_group": lab_group, "state": ExternalResource.State.INTENDED},
    )
    if resource.state == ExternalResource.State.CONFIRMED:
        return resource
    ctx.heartbeat()
    found = find() if find is not None and (look_first or not created) else None
    if found is None:
        found = create()
    ctx.heartbeat()  # a run that lost the course writes no checkpoint (LeaseLost)
    _confirm(resource, found)
    ctx.progress += 1
    return resource


def _confirm(resource: ExternalResource, found: Found) -> None:
    """The checkpoint: from here on, no run calls the platform for this resource again."""
    resource.external_id = found.external_id
    resource.url = found.url
    resource.data = found.data
    resource.state = ExternalResource.State.CONFIRMED
    resource.save(update_fields=["external_id", "url", "data", "state", "updated_at"])


def resource_get(ctx: StepContext, *, provider: str, kind: str, key: str) -> ExternalResource:
    """A resource an earlier step must have confirmed (e.g. the server, a group's role)."""
    return ExternalResource.objects.get(
        course=ctx.course,
        provider=provider,
        kind=kind,
        key=key,
        state=ExternalResource.State.CONFIRMED,
    )
