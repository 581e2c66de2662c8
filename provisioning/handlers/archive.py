"""Handlers of ARCHIVE and UNARCHIVE (semester end): repositories archived, channels read-only for
members, the server's name prefixed; unarchive puts back exactly what archive changed.

Crash safety without intents (nothing is created): before its first write, a resource keeps its
state from before the archive in ``data["before_archive"]``, written only when absent, so a run
that died after the write keeps the true "before" and not the archived state it would read
again. After the write, ``data`` records the new state (``overwrites``, ``name``, ``archived``),
which is what verify (``provisioning.drift``) then expects. A write is skipped when the platform
(or, where nothing is read, the record) already shows the wanted state: a repeat of a completed
step sends no write. Unarchive restores the snapshot and drops it in the same save.

Calls (docs/operations-platform.md): archive reads the channels once, then one ``edit_channel``
per channel, one ``rename_guild``, one ``set_archived`` per repository. Unarchive also reads the
channels once (only while a channel keeps a snapshot): it restores the overwrites archive
changed (@everyone's and the group roles') and keeps any other made meanwhile, such as the staff
role's added by a roster sync.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from courses.models import Course
from integrations.discord.permissions import ARCHIVED_DENY
from integrations.errors import NotFoundError
from provisioning.context import StepContext
from provisioning.models import ExternalResource, ResourceKind
from provisioning.resources import resource_get

DISCORD = ExternalResource.Provider.DISCORD
GITHUB = ExternalResource.Provider.GITHUB
BEFORE = "before_archive"
ARCHIVED_PREFIX = "[archived] "
ROLE_OVERWRITE = 0
STAFF_ROLE_KEY = "staff"
GROUP_ROLE_PREFIX = "group-"

Overwrite = dict[str, Any]


# -- the pure part: names and overwrites --------------------------------------------------------
def archived_name(name: str) -> str:
    """The server's name while archived (Discord's limit is 100 characters)."""
    return (ARCHIVED_PREFIX + name)[:100]


def overwrite_int(overwrite: Overwrite) -> Overwrite:
    """An overwrite as Discord's request bodies type it (the answers carry strings)."""
    return {
        "id": str(overwrite["id"]),
        "type": int(overwrite["type"]),
        "allow": int(overwrite.get("allow") or 0),
        "deny": int(overwrite.get("deny") or 0),
    }


def overwrites_key(overwrites: list[Overwrite]) -> frozenset[tuple[str, int, int, int]]:
    """Comparable whatever the order and whether the bits came as strings."""
    return frozenset(
        (o["id"], o["type"], o["allow"], o["deny"]) for o in map(overwrite_int, overwrites)
    )


def read_only_overwrites(
    overwrites: list[Overwrite], *, everyone_id: str, member_role_ids: set[str]
) -> list[Overwrite]:
    """The channel's overwrites with posting, threads and reactions denied to members.

    Members are @everyone (its role id is the server's) and the group roles: those bits leave
    their allow and join their deny. The bot's own overwrite, the staff role's and any other are
    kept as they are. A channel without an @everyone overwrite gets one. Idempotent: applied to
    its own result it gives the same list.
    """
    members = member_role_ids | {everyone_id}
    result = []
    for overwrite in map(overwrite_int, overwrites):
        if overwrite["type"] == ROLE_OVERWRITE and overwrite["id"] in members:
            overwrite["allow"] &= ~ARCHIVED_DENY
            overwrite["deny"] |= ARCHIVED_DENY
        result.append(overwrite)
    if not any(o["id"] == everyone_id for o in result):
        result.append(
            {"id": everyone_id, "type": ROLE_OVERWRITE, "allow": 0, "deny": ARCHIVED_DENY}
        )
    return result


def restored_overwrites(
    current: list[Overwrite], before: list[Overwrite], *, touched_ids: set[str]
) -> list[Overwrite]:
    """The overwrites archive may have changed (``touched_ids``: @everyone and the group roles)
    as they were in ``before`` (absent when absent there); every other one as it is now (the
    bot's, the staff role's, one a roster sync added meanwhile). With nothing changed by others
    meanwhile, that is exactly ``before``, in its order."""
    now = {str(o["id"]): overwrite_int(o) for o in current}
    result = []
    for overwrite in map(overwrite_int, before):
        if overwrite["id"] in touched_ids:
            result.append(overwrite)
        elif overwrite["id"] in now:
            result.append(now.pop(overwrite["id"]))
    listed = {o["id"] for o in result}
    return result + [o for id_, o in now.items() if id_ not in touched_ids | listed]


# -- the ledger: the snapshot before the first write, the state after each write ---------------
def snapshot_keep(resource: ExternalResource, before: dict[str, Any]) -> dict[str, Any]:
    """Keep the resource's state from before the archive, once: a repeat after a crash finds the
    first snapshot and keeps it (the platform may already show the archived state)."""
    if BEFORE not in resource.data:
        resource.data = {**resource.data, BEFORE: before}
        resource.save(update_fields=["data", "updated_at"])
    kept: dict[str, Any] = resource.data[BEFORE]
    return kept


def state_record(resource: ExternalResource, *, restored: bool = False, **state: Any) -> None:
    """The resource's state after a write (what verify expects); ``restored`` also drops the
    snapshot, in the same save: the unarchive of this resource is complete."""
    data = {**resource.data, **state}
    if restored:
        data.pop(BEFORE, None)
    if data != resource.data:
        resource.data = data
        resource.save(update_fields=["data", "updated_at"])


# -- what the handlers work on -------------------------------------------------------------------
def _confirmed(ctx: StepContext, *, provider: str, kind: str) -> list[ExternalResource]:
    return list(
        ExternalResource.objects.filter(
            course=ctx.course,
            provider=provider,
            kind=kind,
            state=ExternalResource.State.CONFIRMED,
        ).order_by("key")
    )


def _group_role_ids(ctx: StepContext) -> set[str]:
    roles = _confirmed(ctx, provider=DISCORD, kind=ResourceKind.ROLE)
    return {r.external_id for r in roles if r.key.startswith(GROUP_ROLE_PREFIX)}


def _reason(ctx: StepContext) -> str:
    return f"Course provisioning: {ctx.course} ({ctx.step.name})"


def _listing(ctx: StepContext, guild_id: str) -> dict[str, dict[str, Any]]:
    """The server's channels by id: one read per attempt, shared by every channel."""
    if "channels" not in ctx.cache:
        ctx.heartbeat()
        ctx.cache["channels"] = {c["id"]: c for c in ctx.discord.list_channels(guild_id)}
    channels: dict[str, dict[str, Any]] = ctx.cache["channels"]
    return channels


def _edit_overwrites(
    ctx: StepContext, channel_id: str, current: list[Overwrite], wanted: list[Overwrite]
) -> list[Overwrite]:
    """Give the channel ``wanted`` (the whole list, one PATCH) unless it has it already; the list
    it has afterwards, as Discord answers it."""
    if overwrites_key(current) == overwrites_key(wanted):
        return current
    ctx.heartbeat()
    answer = ctx.discord.edit_channel(channel_id, permission_overwrites=wanted, reason=_reason(ctx))
    ctx.progress += 1
    edited: list[Overwrite] = answer.get("permission_overwrites", wanted)
    return edited


# -- ARCHIVE --------------------------------------------------------------------------------------
def archive_channels(ctx: StepContext) -> None:
    """Every course channel read-only for members; staff and the bot keep posting."""
    channels = _confirmed(ctx, provider=DISCORD, kind=ResourceKind.CHANNEL)
    if not channels:
        return
    server = resource_get(ctx, provider=DISCORD, kind=ResourceKind.SERVER, key="server")
    guild_id = server.external_id
    member_role_ids = _group_role_ids(ctx)
    listing = _listing(ctx, guild_id)
    for resource in channels:
        channel = listing.get(resource.external_id)
        if channel is None:
            continue  # deleted by hand: nothing to make read-only (verify reports it missing)
        current = channel.get("permission_overwrites", [])
        snapshot_keep(resource, {"overwrites": current})
        wanted = read_only_overwrites(
            current, everyone_id=guild_id, member_role_ids=member_role_ids
        )
        now = _edit_overwrites(ctx, resource.external_id, current, wanted)
        ctx.heartbeat()  # a run that lost the course records nothing
        state_record(resource, overwrites=now)


def archive_server(ctx: StepContext) -> None:
    """The server's name gets the ``[archived]`` prefix (one write, none when recorded so)."""
    server = resource_get(ctx, provider=DISCORD, kind=ResourceKind.SERVER, key="server")
    before = snapshot_keep(server, {"name": server.data.get("name", "")})
    name = archived_name(before["name"])
    if server.data.get("name") != name:
        ctx.heartbeat()
        ctx.discord.rename_guild(server.external_id, name, reason=_reason(ctx))
        ctx.progress += 1
        ctx.heartbeat()
        state_record(server, name=name)


def archive_repos(ctx: StepContext) -> None:
    """Each repository archived (read-only on GitHub); then the course is marked archived."""
    for resource in _confirmed(ctx, provider=GITHUB, kind=ResourceKind.REPOSITORY):
        snapshot_keep(resource, {"archived": bool(resource.data.get("archived", False))})
        if resource.data.get("archived") is True:
            continue
        ctx.heartbeat()
        try:
            ctx.github.set_archived(resource.key, True)
        except NotFoundError:
            continue  # deleted by hand: nothing to archive (verify reports it missing)
        ctx.progress += 1
        ctx.heartbeat()
        state_record(resource, archived=True)
    ctx.heartbeat()
    Course.objects.filter(id=ctx.course.id, archived_at__isnull=True).update(
        archived_at=timezone.now()
    )


# -- UNARCHIVE ------------------------------------------------------------------------------------
def unarchive_repos(ctx: StepContext) -> None:
    for resource in _confirmed(ctx, provider=GITHUB, kind=ResourceKind.REPOSITORY):
        before = resource.data.get(BEFORE)
        if before is None:
            continue  # not archived by us, or already restored
        archived = bool(before.get("archived", False))
        if resource.data.get("archived", False) != archived:
            ctx.heartbeat()
            try:
                ctx.github.set_archived(resource.key, archived)
                ctx.progress += 1
            except NotFoundError:
                pass  # deleted by hand meanwhile: nothing to restore
        ctx.heartbeat()
        state_record(resource, restored=True, archived=archived)


def unarchive_server(ctx: StepContext) -> None:
    server = resource_get(ctx, provider=DISCORD, kind=ResourceKind.SERVER, key="server")
    before = server.data.get(BEFORE)
    if before is None:
        return
    if server.data.get("name") != before["name"]:
        ctx.heartbeat()
        ctx.discord.rename_guild(server.external_id, before["name"], reason=_reason(ctx))
        ctx.progress += 1
    ctx.heartbeat()
    state_record(server, restored=True, name=before["name"])


def unarchive_channels(ctx: StepContext) -> None:
    """The channels open again as they were; then the course is no longer archived."""
    channels_reopen(ctx, _confirmed(ctx, provider=DISCORD, kind=ResourceKind.CHANNEL))
    ctx.heartbeat()
    Course.objects.filter(id=ctx.course.id).exclude(archived_at=None).update(archived_at=None)


def channels_reopen(ctx: StepContext, resources: list[ExternalResource]) -> None:
    """Each of ``resources`` that an archive made read-only (it keeps a snapshot) gets back the
    overwrites it had: unarchive's work, and a tear down's for a channel it leaves (adopted)."""
    channels = [resource for resource in resources if BEFORE in resource.data]
    if not channels:
        return
    server = resource_get(ctx, provider=DISCORD, kind=ResourceKind.SERVER, key="server")
    guild_id = server.external_id
    touched = _group_role_ids(ctx) | {guild_id}
    listing = _listing(ctx, guild_id)
    for resource in channels:
        before = resource.data[BEFORE]["overwrites"]
        channel = listing.get(resource.external_id)
        if channel is None:  # deleted by hand meanwhile: nothing to open
            now = before
        else:
            current = channel.get("permission_overwrites", [])
            wanted = restored_overwrites(current, before, touched_ids=touched)
            now = _edit_overwrites(ctx, resource.external_id, current, wanted)
        ctx.heartbeat()
        state_record(resource, restored=True, overwrites=now)
