"""Handler of REPAIR: put back what verify finds missing or changed, through the same steps.

One step (``REPAIR_RESOURCES``), safe to repeat after a crash anywhere: every phase reads the
platforms or the ledger again instead of trusting what a dead attempt meant to do.

1. The bot must still be in the server with its permissions (1 read). A removed bot or a taken
   permission is not repairable by API: the step fails at once saying so (staff re-invite the
   bot with the invite link, then retry the course, which runs the repair again).
2. A fresh drift check (``provisioning.drift``, reads): the stored report may be out of date.
3. A missing resource is forgotten — its row deleted with the rows that depend on it, in one
   transaction — and the course type's provisioning handlers run again. They pass over every
   confirmed resource without a call and make only what is unrecorded, under an intent: a crash
   between a create and its record adopts the object on the next attempt instead of making it
   twice. A channel comes back with its overwrites, a synced course's staff role's among them
   (one create), a repository with its seed and protection. What the roster sync made on them
   goes with them: a synced course's staff role (checked by verify) is made again with its
   overwrite in every channel here; an invite link gone from Discord (with its channel, by
   hand, or expired) is made anew; a team gone or a grant gone or changed is forgotten (a team
   with its grants and its memberships, but not the organization invitations it counted:
   provisioning.invitations) and the sync's team handler makes and grants again what is
   unrecorded — the grants of a repository made again too. People are put
   back in a team made again by the next roster sync. A team changed (another id under its
   slug) was made again by someone else: it lacks the course's marker, so the sync's handler
   fails the step saying so rather than take it over and grant it the repositories. A team with
   our id whose marker was edited out is neither made again nor given the marker back: staff
   tell whose it is (``_team_made_again``).
4. A changed resource is fixed in place, with a write only where the platform differs.
5. A last drift check is stored as the course's drift report: the outcome shows at once, what
   could not be put back (a role renamed by hand: the client has no call for it) stays in it,
   and a second repair is refused while it is clean.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from courses.models import Course
from integrations.errors import ConflictError
from integrations.ratelimit import limit_store
from provisioning.context import StepContext
from provisioning.discord_access import discord_bot_membership_check
from provisioning.drift import CHANGED, MISSING, OK, course_drift_check, drift_report_record
from provisioning.errors import ProvisioningConfigError, StepSkipped
from provisioning.handlers.discord import (
    ChannelSpec,
    create_channels,
    group_channels,
    lecture_channels,
)
from provisioning.handlers.github import RepoTarget, _description, repo_targets
from provisioning.handlers.people import (
    SUPERSEDED,
    invite_supersede,
    staff_overwrite,
    superseded_codes,
    sync_github_teams,
    sync_invite_links,
    sync_staff_role,
)
from provisioning.handlers.provision import PROVISION_HANDLERS, steps_for
from provisioning.models import ExternalResource, Operation, ResourceKind, StepName

DISCORD = ExternalResource.Provider.DISCORD
GITHUB = ExternalResource.Provider.GITHUB
CONFIRMED = ExternalResource.State.CONFIRMED
Overwrite = tuple[str, int, int, int]  # (id, type, allow, deny)
Entry = dict[str, Any]


def repair_resources(ctx: StepContext) -> None:
    _bot_check(ctx)
    ctx.heartbeat()
    checked = course_drift_check(course=ctx.course, discord=ctx.discord, github=ctx.github)
    drift = [entry for entry in checked if entry["state"] != OK]
    # What each channel has on the platform now, read before the ledger changes below.
    channels_now = _channels_now(ctx.course, drift)
    _forget_missing(ctx, drift)
    _provision_again(ctx)
    _fix_server(ctx, drift)
    renamed = {e["key"] for e in drift if e["kind"] == ResourceKind.CHANNEL and _differs(e, "name")}
    _fix_channels(ctx, channels_now, renamed=renamed)
    _restore_staff_access(ctx, drift)
    _fix_repositories(ctx, drift)
    _fix_protections(ctx, drift)
    _restore_teams(ctx)
    ctx.heartbeat()
    final = course_drift_check(course=ctx.course, discord=ctx.discord, github=ctx.github)
    drift_report_record(course=ctx.course, resources=final, operation=ctx.step.operation)


def _reason(ctx: StepContext) -> str:
    return f"Course repair: {ctx.course} ({ctx.step.name})"


def _differs(entry: Entry, field: str) -> bool:
    return entry["state"] == CHANGED and field in entry["differences"]


def _row(ctx: StepContext, provider: str, kind: str, key: str) -> ExternalResource | None:
    return ExternalResource.objects.filter(
        course=ctx.course, provider=provider, kind=kind, key=key, state=CONFIRMED
    ).first()


def _bot_check(ctx: StepContext) -> None:
    """Nothing of Discord can be read or repaired without the bot: say what staff must do."""
    server = _row(ctx, DISCORD, ResourceKind.SERVER, "server")
    if server is None:
        return
    ctx.heartbeat()
    discord_bot_membership_check(
        discord=ctx.discord,
        guild_id=server.external_id,
        then="retry the course (its repair runs again)",
    )


# -- missing: forget, then provision again ------------------------------------------------------
def _forget_missing(ctx: StepContext, drift: list[Entry]) -> None:
    """Delete the rows of what is gone (and of what went with it), in one transaction: a crash
    leaves either the old ledger (the next attempt finds the same drift) or the new one (the
    provisioning handlers make what is unrecorded)."""
    forgotten_rulesets: set[str] = set()
    # The drift check before may have outlasted the lease: a run that lost the course deletes
    # nothing (the run that took over may have made some of these again already).
    ctx.heartbeat()
    with transaction.atomic():
        for entry in drift:
            if entry["state"] != MISSING:
                continue
            kind, key = entry["kind"], entry["key"]
            rows = ExternalResource.objects.filter(
                course=ctx.course, provider=entry["provider"], kind=kind, key=key
            )
            if kind == ResourceKind.ROLE:
                for role in rows:
                    _drop_overwrites_of(ctx.course, role.external_id)
                rows.delete()
            elif kind == ResourceKind.CHANNEL:
                # The staff role's overwrite went with the channel: the new one is made with it
                # (_wanted_channels), its row recorded again without a call
                # (_restore_staff_access).
                ExternalResource.objects.filter(
                    course=ctx.course, kind=ResourceKind.STAFF_ACCESS, key=key
                ).delete()
                rows.delete()
            elif kind == ResourceKind.REPOSITORY:
                # A re-created repository is seeded and protected again; its teams' access is
                # granted again by the next roster sync (provisioning.handlers.people).
                ExternalResource.objects.filter(
                    course=ctx.course,
                    provider=GITHUB,
                    kind__in=(ResourceKind.REPOSITORY, ResourceKind.SEED, ResourceKind.PROTECTION),
                    key=key,
                ).delete()
                for grant in ExternalResource.objects.filter(
                    course=ctx.course, kind=ResourceKind.TEAM_GRANT
                ):
                    if grant.data.get("repo") == key:
                        grant.delete()
            elif kind == ResourceKind.INVITE:
                _forget_link(rows)  # made anew by the sync's handler (_restore_staff_access)
            elif kind == ResourceKind.PROTECTION:
                for protection in rows:
                    if "ruleset" in protection.data:
                        forgotten_rulesets.add(str(protection.data["ruleset"]))
                        protection.delete()
            # A missing server is the bot's absence (step 1); a missing branch protection is
            # put back in place (_fix_protections).
        for entry in drift:
            if entry["kind"] == ResourceKind.TEAM and _team_made_again(entry):
                _forget_team(ctx.course, entry["key"])
            elif entry["kind"] == ResourceKind.TEAM_GRANT and entry["state"] != OK:
                # Given again by the sync's team handler (_restore_teams): one absolute PUT.
                ExternalResource.objects.filter(
                    course=ctx.course,
                    provider=GITHUB,
                    kind=ResourceKind.TEAM_GRANT,
                    key=entry["key"],
                ).delete()
    for name in forgotten_rulesets:
        # The semester's ruleset id is remembered (provisioning.handlers.github): forget it, so
        # that the protection step looks for the ruleset again and makes it if it is gone.
        limit_store().remember(f"github:ruleset:{ctx.github.org.lower()}:{name}", "")


def _team_made_again(entry: Entry) -> bool:
    """A team gone, or another id under its slug, is forgotten and made again by the sync's team
    handler. Ours (the recorded id) whose marker was edited out of its description is left as it
    is, reported by the last drift check, the repair plan saying what staff do — as the roster
    sync (``team_not_ours``) and the tear down leave it:

    - Not made again: GitHub still has it under the slug, so the sync's handler would find it
      without the marker and fail the step, after its grants and memberships were forgotten.
    - The marker not written back either: the id alone does not prove the team ours (before the
      sync checked the marker, a repair could record a stranger's team made again under our
      name, id and all — ``provisioning.handlers.teardown.remove_teams``), and our marker in it
      would hand it the course's repositories and students and have a tear down delete it. Nor
      does repair edit a team in place anywhere: the client has no call for it.
    """
    if entry["state"] == MISSING:
        return True
    return entry["state"] == CHANGED and "id" in entry["differences"]


def _forget_team(course: Course, slug: str) -> None:
    """A team gone (or another one made by hand under its name) took its grants and memberships
    with it. The rows of organization invitations it sent stay as they are: they count against
    GitHub's invitation limit whatever became of the team (provisioning.invitations), and the
    invitation itself is still pending on GitHub, without the team — see the README (Repair)."""
    ExternalResource.objects.filter(
        course=course, provider=GITHUB, kind=ResourceKind.TEAM, key=slug
    ).delete()
    for row in ExternalResource.objects.filter(
        course=course, provider=GITHUB, kind__in=(ResourceKind.TEAM_GRANT, ResourceKind.MEMBERSHIP)
    ):
        ours = row.data.get("team") == slug or row.key.split(":", 1)[0] == slug
        if row.kind == ResourceKind.MEMBERSHIP:
            ours = row.data.get("team") == slug and not row.data.get("invites")
        if ours:
            row.delete()


def _drop_overwrites_of(course: Course, role_id: str) -> None:
    """A deleted role's overwrites went with it (Discord removes them): the recorded channels no
    longer expect them. Its new id comes from the channel's spec once the role is made again."""
    channels = ExternalResource.objects.filter(
        course=course, provider=DISCORD, kind=ResourceKind.CHANNEL
    )
    for channel in channels:
        overwrites = channel.data.get("overwrites", [])
        kept = [o for o in overwrites if str(o["id"]) != role_id]
        if len(kept) != len(overwrites):
            channel.data = {**channel.data, "overwrites": kept}
            channel.save(update_fields=["data", "updated_at"])


# The provisioning steps that make channels: run here with the repair's channel specs.
CHANNEL_STEPS = (StepName.CREATE_DISCORD_CHANNELS, StepName.CREATE_GROUP_CHANNELS)


def _provision_again(ctx: StepContext) -> None:
    """The course type's provisioning handlers, in order: only the unrecorded is made. A channel
    is made with the staff role's overwrite too (``_wanted_channels``): one create, where the
    provisioning handler's and then the sync's PUT of it would be two writes."""
    for name in steps_for(ctx.course.type):
        ctx.heartbeat()
        try:
            if name in CHANNEL_STEPS:
                create_channels(ctx, _wanted_channels(ctx))
            else:
                PROVISION_HANDLERS[name](ctx)
        except StepSkipped:
            continue  # protection the plan cannot give: provisioning skipped it too


def _forget_link(rows: QuerySet[ExternalResource]) -> None:
    """A link gone from Discord is forgotten, but not the links it had replaced and not yet
    deleted (a crash between its record and their delete): its row stays as a bare intent
    carrying that note, so the sync's handler makes a new link and deletes them
    (provisioning.handlers.people.invite_supersede)."""
    for link in rows:
        pending = superseded_codes(link)
        if not pending:
            link.delete()
            continue
        link.external_id, link.url = "", ""
        link.data = {SUPERSEDED: pending}
        link.state = ExternalResource.State.INTENDED
        link.save(update_fields=["external_id", "url", "data", "state", "updated_at"])


def _renew_changed_links(ctx: StepContext, drift: list[Entry]) -> None:
    """A link Discord shows with another channel or other roles than recorded is made anew,
    as the repair plan says, and the old one deleted once the new one is recorded: otherwise
    it would stay drifted, and alive, whenever the course's spec itself did not change."""
    for entry in drift:
        if entry["kind"] != ResourceKind.INVITE or entry["state"] != CHANGED:
            continue
        link = _row(ctx, DISCORD, ResourceKind.INVITE, entry["key"])
        if link is not None:
            invite_supersede(link)


def _restore_staff_access(ctx: StepContext, drift: list[Entry]) -> None:
    """A course whose roster was synced has a staff role with access to every channel and invite
    links on its channels (provisioning.handlers.people): the role made again when it is
    missing and given to a channel made again; a link whose channel (or role) was made again
    made anew, since Discord deleted it with its channel — the link sheet must not hand out a
    dead link. The sync's own handlers: they pass over what is confirmed and current without a
    call."""
    if not _synced(ctx):
        return
    ctx.heartbeat()
    sync_staff_role(ctx)
    ctx.heartbeat()
    _renew_changed_links(ctx, drift)
    sync_invite_links(ctx)


def _synced(ctx: StepContext) -> bool:
    return Operation.objects.filter(course=ctx.course, kind=Operation.Kind.SYNC_MEMBERS).exists()


def _restore_teams(ctx: StepContext) -> None:
    """The sync's team handler, after the repositories' fixes (a grant is addressed by the
    repository's name): it makes the teams and grants that are unrecorded and passes over the
    rest without a call."""
    if not _synced(ctx):
        return
    ctx.heartbeat()
    sync_github_teams(ctx)


# -- changed: fix in place ----------------------------------------------------------------------
def _fix_server(ctx: StepContext, drift: list[Entry]) -> None:
    server = _row(ctx, DISCORD, ResourceKind.SERVER, "server")
    if server is None or not any(
        e["kind"] == ResourceKind.SERVER and _differs(e, "name") for e in drift
    ):
        return
    ctx.heartbeat()
    ctx.discord.rename_guild(server.external_id, server.data["name"], reason=_reason(ctx))


def _normalized(raw: list[Any]) -> tuple[Overwrite, ...]:
    """Overwrites as dicts (Discord, the ledger) or lists (a drift report), comparable."""
    rows = [
        (str(o["id"]), int(o["type"]), int(o["allow"]), int(o["deny"]))
        if isinstance(o, dict)
        else (str(o[0]), int(o[1]), int(o[2]), int(o[3]))
        for o in raw or []
    ]
    return tuple(sorted(rows))


def _channels_now(course: Course, drift: list[Entry]) -> dict[str, tuple[Overwrite, ...]]:
    """Each confirmed channel's overwrites on the platform: the drift check's reading where they
    differ from the ledger, else the ledger's (they match)."""
    changed = {e["key"]: e for e in drift if e["kind"] == ResourceKind.CHANNEL}
    now = {}
    for channel in ExternalResource.objects.filter(
        course=course, provider=DISCORD, kind=ResourceKind.CHANNEL, state=CONFIRMED
    ):
        entry = changed.get(channel.key)
        if entry is not None and entry["state"] == MISSING:
            continue
        if entry is not None and _differs(entry, "overwrites"):
            now[channel.key] = _normalized(entry["differences"]["overwrites"]["actual"])
        else:
            now[channel.key] = _normalized(channel.data.get("overwrites", []))
    return now


def _wanted_channels(ctx: StepContext) -> list[ChannelSpec]:
    """The provisioning specs with, on a synced course, the staff role's overwrite (the roster
    sync gives it to every channel): a channel made again is created with it — the create's
    answer records it, and the sync's handler then records its ``staff_access`` without a call
    (``_restore_staff_access``). A crash between the create and its record is safe as any
    create: the retry finds the channel by name, with the overwrite already on it. A staff role
    gone is forgotten first (``_forget_missing``): no overwrite here, the sync's handler makes
    the role and gives it to every channel."""
    specs = (
        group_channels(ctx) if ctx.course.type == Course.Type.LABORATORY else lecture_channels(ctx)
    )
    staff = staff_overwrite(ctx)
    if staff is None:
        return specs
    return [replace(spec, overwrites=(*spec.overwrites, staff)) for spec in specs]


def _channel_specs(ctx: StepContext) -> dict[str, ChannelSpec]:
    return {spec.key: spec for spec in _wanted_channels(ctx)}


def _fix_channels(
    ctx: StepContext, channels_now: dict[str, tuple[Overwrite, ...]], *, renamed: set[str]
) -> None:
    """Each channel gets the ledger's overwrites with the spec's on top (a re-made role's new id;
    anything dropped, loosened or added by hand is put back as recorded), and its name back, in
    one PATCH that replaces the whole list — only where the platform differs."""
    specs = _channel_specs(ctx)
    for channel in ExternalResource.objects.filter(
        course=ctx.course, provider=DISCORD, kind=ResourceKind.CHANNEL, state=CONFIRMED
    ).order_by("id"):
        recorded = _normalized(channel.data.get("overwrites", []))
        wanted = {o[0]: o for o in recorded}
        spec = specs.get(channel.key)
        if spec is not None:
            wanted.update({o[0]: o for o in spec.overwrites})
        desired = tuple(sorted(wanted.values()))
        rename = channel.key in renamed
        if desired != channels_now.get(channel.key, recorded) or rename:
            ctx.heartbeat()
            answer = ctx.discord.edit_channel(
                channel.external_id,
                name=channel.data["name"] if rename else None,
                permission_overwrites=[
                    {"id": id_, "type": type_, "allow": allow, "deny": deny}
                    for id_, type_, allow, deny in desired
                ],
                reason=_reason(ctx),
            )
            overwrites = answer.get("permission_overwrites", [])
            channel.data = {**channel.data, "name": answer["name"], "overwrites": overwrites}
        elif desired != recorded:
            # Already right on the platform (an attempt died before recording it).
            channel.data = {
                **channel.data,
                "overwrites": [
                    {"id": id_, "type": type_, "allow": str(allow), "deny": str(deny)}
                    for id_, type_, allow, deny in desired
                ],
            }
        else:
            continue
        channel.save(update_fields=["data", "updated_at"])


def _fix_repositories(ctx: StepContext, drift: list[Entry]) -> None:
    """Unarchived first (an archived repository refuses every other write), renamed back and
    described with the course's marker in one PATCH, made private again."""
    targets = {target.name: target for target in repo_targets(ctx.course)}
    for entry in drift:
        if entry["kind"] != ResourceKind.REPOSITORY or entry["state"] != CHANGED:
            continue
        key, differences = entry["key"], entry["differences"]
        repo = _row(ctx, GITHUB, ResourceKind.REPOSITORY, key)
        if repo is None:
            continue
        name = differences["name"]["actual"] if "name" in differences else key
        archived = bool(repo.data.get("archived", False))
        ctx.heartbeat()
        if "archived" in differences and not archived:
            ctx.github.set_archived(name, False)
        if "name" in differences or "marker" in differences:
            target = targets.get(key) or RepoTarget(key, repo.lab_group)
            description = _description(ctx.course, target) if "marker" in differences else None
            try:
                ctx.github.rename_repo(name, key, description=description)
            except ConflictError as exc:
                raise ProvisioningConfigError(
                    f"Repository {ctx.github.org}/{key} was renamed to {name} by hand, and "
                    f"another repository now has the name {key}: rename or delete that one, "
                    "then retry the course."
                ) from exc
            name = key
        if "private" in differences:
            ctx.github.set_private(name, True)
        if "archived" in differences and archived:
            ctx.github.set_archived(name, True)


def _fix_protections(ctx: StepContext, drift: list[Entry]) -> None:
    """Branch protection removed or loosened: one PUT puts back the whole setting (after the
    repository's own fixes: it is addressed by its name)."""
    for entry in drift:
        if entry["kind"] != ResourceKind.PROTECTION or entry["state"] == OK:
            continue
        protection = _row(ctx, GITHUB, ResourceKind.PROTECTION, entry["key"])
        if protection is None or "ruleset" in protection.data:
            continue  # made again with its repository, or with the semester's ruleset
        ctx.heartbeat()
        ctx.github.protect_branch(protection.key, branch=protection.external_id)
