"""The ledger of external resources: intent before each create, the platform's id right after.

:func:`resource_ensure` is the one idempotency rule every handler follows:

- recorded and confirmed: nothing to do, no call;
- recorded as intended only: an earlier attempt may have created it and died before recording
  the answer, so look on the platform first (``find``), and create only if it is not there;
- not recorded: write the intent, then create (unless ``look_first``, see below).

With ``look_first``, an object found before this course ever sent its create is *adopted*
(``data["adopted"]``): it existed before the course, so a tear down leaves it. The intent is
marked ``creating`` before the create call, so that an object found by a later run (the create's
answer was lost) is known to be ours.
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
        if look_first:
            # Written before the create call: a same-named object found by a later run is then
            # ours (the answer was lost), not one to adopt.
            _note_creating(resource)
        found = create()
    elif look_first and not resource.data.get("creating"):
        # Found before we ever created one: someone else's (a template's #general), adopted.
        # A tear down leaves it where it was (provisioning.handlers.teardown).
        found = Found(found.external_id, url=found.url, data={**found.data, "adopted": True})
    ctx.heartbeat()  # a run that lost the course writes no checkpoint (LeaseLost)
    _confirm(resource, found)
    ctx.progress += 1
    return resource


def _note_creating(resource: ExternalResource) -> None:
    if not resource.data.get("creating"):
        resource.data = {**resource.data, "creating": True}
        resource.save(update_fields=["data", "updated_at"])


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
