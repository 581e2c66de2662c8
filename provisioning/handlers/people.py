"""Handlers of SYNC_MEMBERS: the roster carried to Discord and GitHub.

Discord first (it needs no budget): a staff role allowed in every course channel, then the invite
links people join through (a bot cannot add anyone to a server). Then GitHub: a team per audience
with its repository permissions, then each member's team membership or organization invitation
(``provisioning.handlers.memberships``). Every resource is an ``ExternalResource`` ensured with
``resource_ensure``, so a re-sync with nothing new sends no request for it at all; costs and crash
recovery per call: docs/people-platform.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from courses.models import Course, LabGroup
from integrations.discord.permissions import CHANNEL_MEMBER
from integrations.errors import NotFoundError
from integrations.github.client import TeamInfo, team_slug
from provisioning.context import StepContext
from provisioning.errors import ProvisioningConfigError
from provisioning.handlers.github import course_marker, repo_targets
from provisioning.handlers.memberships import (
    sync_memberships,
    team_not_ours,
    team_problem_record,
    teams_checked,
)
from provisioning.models import ExternalResource, ResourceKind
from provisioning.naming import legacy_slug
from provisioning.resources import Found, resource_ensure, resource_get

DISCORD = ExternalResource.Provider.DISCORD
GITHUB = ExternalResource.Provider.GITHUB
CONFIRMED = ExternalResource.State.CONFIRMED
INTENDED = ExternalResource.State.INTENDED
ROLE_OVERWRITE = 0
# A name of our own, not "Staff": a role of that name made by hand may sit above the bot's (it
# could then not be given through an invite) or carry powers not meant for an invite link.
STAFF_ROLE_NAME = "Course staff"
# What staff may do in every course channel: what a group member may (see, post, read the
# history), which also lets them post in a lecture's read-only #announcements. Nothing more: a
# bot may only grant in an overwrite what it holds itself, and it is asked for no more.
STAFF_ALLOW = CHANNEL_MEMBER
# An invite link's ``data`` key: codes of the links it replaced, still to delete on Discord.
SUPERSEDED = "superseded"


def _reason(ctx: StepContext) -> str:
    return f"Course roster sync: {ctx.course} ({ctx.step.name})"


def _server(ctx: StepContext) -> ExternalResource:
    return resource_get(ctx, provider=DISCORD, kind=ResourceKind.SERVER, key="server")


def _channels(ctx: StepContext) -> list[ExternalResource]:
    return list(
        ExternalResource.objects.filter(
            course=ctx.course, provider=DISCORD, kind=ResourceKind.CHANNEL, state=CONFIRMED
        ).order_by("id")
    )


def _redo_if(resource: ExternalResource | None, stale: bool) -> None:
    """A confirmed resource that no longer matches what the course wants is made again: back to
    intended, so ``resource_ensure`` looks on the platform and writes."""
    if resource is not None and resource.state == CONFIRMED and stale:
        ExternalResource.objects.filter(id=resource.id).update(state=INTENDED)


def _existing(ctx: StepContext, provider: str, kind: str, key: str) -> ExternalResource | None:
    return ExternalResource.objects.filter(
        course=ctx.course, provider=provider, kind=kind, key=key
    ).first()


# -- Discord: the staff role and its access to every channel ---------------------------------
def sync_staff_role(ctx: StepContext) -> None:
    guild_id = _server(ctx).external_id

    def find() -> Found | None:
        # Only after a lost answer: the newest role of our name is the one that run made.
        named = [r for r in ctx.discord.list_roles(guild_id) if r["name"] == STAFF_ROLE_NAME]
        newest = max(named, key=lambda role: int(role["id"]), default=None)
        return Found(newest["id"], data={"name": newest["name"]}) if newest else None

    def create() -> Found:
        role = ctx.discord.create_role(guild_id, name=STAFF_ROLE_NAME, reason=_reason(ctx))
        return Found(role["id"], data={"name": role["name"]})

    role = resource_ensure(
        ctx, provider=DISCORD, kind=ResourceKind.ROLE, key="staff", find=find, create=create
    )
    for channel in _channels(ctx):
        access = _existing(ctx, DISCORD, ResourceKind.STAFF_ACCESS, channel.key)
        _redo_if(access, access is not None and access.data.get("role_id") != role.external_id)

        def allow(channel: ExternalResource = channel) -> Found:
            # A channel a repair made again was created with the overwrite (the create's answer
            # is its record): only the row to write. Otherwise a PUT of the whole overwrite:
            # repeating it after a lost answer changes nothing.
            if not _carries_staff_overwrite(channel, role.external_id):
                ctx.discord.edit_channel_permission(
                    channel.external_id,
                    role.external_id,
                    type=ROLE_OVERWRITE,
                    allow=STAFF_ALLOW,
                    deny=0,
                    reason=_reason(ctx),
                )
                _record_overwrite(channel, role.external_id)
            return Found(
                channel.external_id,
                url=channel.url,
                data={"role_id": role.external_id, "allow": STAFF_ALLOW, "deny": 0},
            )

        resource_ensure(
            ctx,
            provider=DISCORD,
            kind=ResourceKind.STAFF_ACCESS,
            key=channel.key,
            create=allow,
            lab_group=channel.lab_group,
        )


def staff_overwrite(ctx: StepContext) -> tuple[str, int, int, int] | None:
    """The overwrite (id, type, allow, deny) the staff role has in every channel of a synced
    course; None before a roster sync made the role (or while a repair makes it again)."""
    role = ExternalResource.objects.filter(
        course=ctx.course, provider=DISCORD, kind=ResourceKind.ROLE, key="staff", state=CONFIRMED
    ).first()
    return None if role is None else (role.external_id, ROLE_OVERWRITE, STAFF_ALLOW, 0)


def _carries_staff_overwrite(channel: ExternalResource, role_id: str) -> bool:
    """The channel's record (what Discord answered when it was made, adopted or last fixed)
    has the staff role's overwrite as the sync gives it."""
    return any(
        str(o.get("id")) == role_id
        and int(o.get("type", -1)) == ROLE_OVERWRITE
        and int(o.get("allow", -1)) == STAFF_ALLOW
        and int(o.get("deny", -1)) == 0
        for o in channel.data.get("overwrites", [])
    )


def _record_overwrite(channel: ExternalResource, role_id: str) -> None:
    """The channel's recorded overwrites include the staff role's from now on: verify compares a
    channel with them (and repair puts them back), so the staff access is expected, not drift."""
    overwrites = [o for o in channel.data.get("overwrites", []) if str(o.get("id")) != role_id]
    overwrites.append(
        {"id": role_id, "type": ROLE_OVERWRITE, "allow": str(STAFF_ALLOW), "deny": "0"}
    )
    channel.data = {**channel.data, "overwrites": overwrites}
    channel.save(update_fields=["data", "updated_at"])


# -- Discord: invite links -----------------------------------------------------------------------
@dataclass(frozen=True)
class InviteSpec:
    key: str  # group-<n>, staff, members
    channel: ExternalResource
    role_ids: tuple[str, ...]
    lab_group: LabGroup | None = None


def invite_specs(ctx: StepContext) -> list[InviteSpec]:
    """One link per lab group giving its role, one giving the staff role, and for a lecture one
    for its members (its channels are open to everyone in the server: no role)."""
    channels = _channels(ctx)
    staff_role = resource_get(ctx, provider=DISCORD, kind=ResourceKind.ROLE, key="staff")
    specs: list[InviteSpec] = []
    if ctx.course.type == Course.Type.LABORATORY:
        for group in ctx.course.lab_groups.order_by("number"):
            channel = next((c for c in channels if c.lab_group_id == group.id), None)
            if channel is None:
                continue  # not made yet (a group being added): its link comes with a later sync
            role = resource_get(
                ctx, provider=DISCORD, kind=ResourceKind.ROLE, key=f"group-{group.number}"
            )
            specs.append(InviteSpec(f"group-{group.number}", channel, (role.external_id,), group))
        staff_channel = specs[0].channel if specs else (channels[0] if channels else None)
    else:
        staff_channel = next((c for c in channels if c.key == "general"), None) or (
            channels[0] if channels else None
        )
        if staff_channel is not None:
            specs.append(InviteSpec("members", staff_channel, ()))
    if staff_channel is not None:
        specs.append(InviteSpec("staff", staff_channel, (staff_role.external_id,)))
    return specs


def _expired(resource: ExternalResource | None, now: datetime) -> bool:
    expires = (resource.data.get("expires_at") if resource else None) or ""
    return bool(expires) and datetime.fromisoformat(expires.replace("Z", "+00:00")) <= now


def _link_stale(link: ExternalResource, spec: InviteSpec, now: datetime) -> bool:
    """Past its expiry, or made for another channel or other roles than the course wants now
    (a channel or role made again by a repair)."""
    return (
        _expired(link, now)
        or link.data.get("channel_id") != spec.channel.external_id
        or sorted(link.data.get("role_ids", [])) != sorted(spec.role_ids)
    )


def superseded_codes(link: ExternalResource | None) -> list[str]:
    """Codes of the links this one replaces that are still to be deleted on Discord."""
    return list((link.data.get(SUPERSEDED) if link is not None else None) or [])


def invite_supersede(link: ExternalResource, *, alive: bool = True) -> None:
    """Make a confirmed link again: back to intended, its code noted as superseded in the same
    write (``data["superseded"]``).

    The note is the intent of the old link's deletion. It rides on the new link's record
    (``sync_invite_links`` copies it into what it confirms) and is cleared only once the old
    link is deleted, which happens after the new one is made and recorded: a crash anywhere
    leaves at worst the old link alive with its note, and the retry deletes it (an "Unknown
    Invite" counting as done) without making another new link. Only codes we recorded are ever
    noted: a link made by hand is never deleted. ``alive=False``: the old link is known gone
    (past its expiry, which Discord enforces), nothing to delete.
    """
    if link.state != CONFIRMED:
        return  # already being made again: its note, if any, is kept as it is
    pending = superseded_codes(link)
    if alive and link.external_id and link.external_id not in pending:
        pending.append(link.external_id)
    link.state = INTENDED
    if pending:
        link.data = {**link.data, SUPERSEDED: pending}
    link.save(update_fields=["state", "data", "updated_at"])


def _superseded_delete(ctx: StepContext, link: ExternalResource) -> None:
    """Delete on Discord the links the confirmed ``link`` replaced, then clear its note (the
    checkpoint). Passes over a code that is a current link of the course: never ours to
    revoke, whatever a note says."""
    pending = superseded_codes(link)
    if not pending:
        return
    current = set(
        ExternalResource.objects.filter(
            course=ctx.course, kind=ResourceKind.INVITE, state=CONFIRMED
        ).values_list("external_id", flat=True)
    )
    for code in pending:
        if code in current:
            continue
        ctx.heartbeat()
        ctx.discord.delete_invite(code, reason=_reason(ctx))  # False: already gone, as wanted
    ctx.heartbeat()  # a run that lost the course writes no checkpoint (LeaseLost)
    link.data = {key: value for key, value in link.data.items() if key != SUPERSEDED}
    link.save(update_fields=["data", "updated_at"])


def sync_invite_links(ctx: StepContext) -> None:
    """One link per spec. A recorded link that no longer fits is made again and the old one
    deleted on Discord once the new one is recorded (``invite_supersede``): a link left alive
    would go on letting people in."""
    server = _server(ctx)
    guild_id, bot_id = server.external_id, server.data.get("bot_user_id", "")
    max_age = settings.DISCORD_INVITE_MAX_AGE
    now = timezone.now()

    def listed() -> list[dict[str, Any]]:
        if "invites" not in ctx.cache:
            ctx.cache["invites"] = ctx.discord.list_guild_invites(guild_id)
        invites: list[dict[str, Any]] = ctx.cache["invites"]
        return invites

    def found(invite: dict[str, Any], spec: InviteSpec, pending: list[str]) -> Found:
        # Discord's own expiry (an adopted link may be older than this run); ours as a fallback.
        expires = invite.get("expires_at") or (
            (now + timedelta(seconds=max_age)).isoformat() if max_age else ""
        )
        data: dict[str, Any] = {
            "channel_id": spec.channel.external_id,
            "role_ids": list(spec.role_ids),
            "max_age": max_age,
            "expires_at": expires,
        }
        if pending:
            data[SUPERSEDED] = pending  # still to delete, now that this link is recorded
        return Found(invite["code"], url=f"https://discord.gg/{invite['code']}", data=data)

    for spec in invite_specs(ctx):
        recorded = _existing(ctx, DISCORD, ResourceKind.INVITE, spec.key)
        if recorded is not None and _link_stale(recorded, spec, now):
            invite_supersede(recorded, alive=not _expired(recorded, now))  # a confirmed one
        pending = superseded_codes(recorded)

        def find(spec: InviteSpec = spec, pending: list[str] = pending) -> Found | None:
            # A lost answer: the bot's live invite on that channel giving exactly those roles,
            # and neither another link of the course nor one it replaced.
            links = ExternalResource.objects.filter(course=ctx.course, kind=ResourceKind.INVITE)
            taken = {link.external_id for link in links if link.state == CONFIRMED}
            taken.update(code for link in links for code in superseded_codes(link))
            matches = [
                invite
                for invite in listed()
                if invite.get("channel", {}).get("id") == spec.channel.external_id
                and (invite.get("inviter") or {}).get("id") in (bot_id, None)
                and sorted(r["id"] for r in invite.get("roles") or []) == sorted(spec.role_ids)
                and invite.get("max_age") == max_age
                and invite["code"] not in taken
            ]
            newest = max(matches, key=lambda invite: invite.get("created_at", ""), default=None)
            return found(newest, spec, pending) if newest else None

        def create(spec: InviteSpec = spec, pending: list[str] = pending) -> Found:
            invite = ctx.discord.create_invite(
                spec.channel.external_id,
                role_ids=spec.role_ids,
                max_age=max_age,
                max_uses=0,
                unique=True,  # a new code: never handed back another link's
                reason=_reason(ctx),
            )
            return found(invite, spec, pending)

        link = resource_ensure(
            ctx,
            provider=DISCORD,
            kind=ResourceKind.INVITE,
            key=spec.key,
            find=find,
            create=create,
            lab_group=spec.lab_group,
        )
        # After the new link's record: a link that still works is a way in (a leak).
        _superseded_delete(ctx, link)


# -- GitHub: teams and their repositories -------------------------------------------------------
@dataclass(frozen=True)
class TeamSpec:
    purpose: str  # staff, group-<n>, students
    name: str
    repos: tuple[tuple[str, str], ...]  # (repository, permission)
    lab_group: LabGroup | None = None

    @property
    def slug(self) -> str:
        return team_slug(self.name)


def team_specs(course: Course) -> list[TeamSpec]:
    """Staff maintain every repository of the course; a lab group pushes to its own; a lecture's
    students get ``LECTURE_STUDENT_PERMISSION`` on the lecture's. Named after the course's
    repositories (``<semester>-<course-slug>``), which no other course of the organization owns."""
    targets = repo_targets(course)
    base = course.slug or legacy_slug(name=course.name, semester=course.semester)
    specs = [TeamSpec("staff", f"{base} staff", tuple((t.name, "maintain") for t in targets))]
    if course.type == Course.Type.LABORATORY:
        for target in targets:
            assert target.lab_group is not None
            number = target.lab_group.number
            specs.append(
                TeamSpec(
                    f"group-{number}",
                    f"{base} group {number}",
                    ((target.name, "push"),),
                    target.lab_group,
                )
            )
    else:
        permission = settings.LECTURE_STUDENT_PERMISSION
        specs.append(TeamSpec("students", f"{base} students", ((targets[0].name, permission),)))
    return specs


def _team_description(course: Course, spec: TeamSpec) -> str:
    who = {"staff": "staff", "students": "students"}.get(spec.purpose, spec.purpose)
    return (
        f"{course.name} ({course.semester}), {who.replace('-', ' ')}. "
        f"Managed by course provisioning {course_marker(course)}"
    )


def _ours_or_conflict(ctx: StepContext, team: TeamInfo) -> None:
    """A team found under the name is ours only with this course's marker in its description
    (every team the sync makes has it): a lost answer is found again, but a stranger's team of
    the same name — say one made again by hand after ours was deleted, which repair would
    otherwise take over — gets no grants, and no tear down of ours deletes it."""
    if course_marker(ctx.course) not in team.description:
        raise ProvisioningConfigError(
            f"GitHub team {team.slug} of {ctx.github.org} already exists and is not this "
            f"course's (its description lacks the marker {course_marker(ctx.course)}). Rename "
            "or delete it on GitHub, then retry."
        )


def _repo_gone(ctx: StepContext, slug: str, repo: str, permission: str) -> bool:
    """Whether the repository of a grant GitHub refused (404), its team still ours, is gone:
    deleted by hand. Read (1 read) on such a refusal only. Gone, the grant is left unsent and the
    problem kept on the operation (``params["teamProblems"]``, keyed ``<team>:<repository>``);
    the step goes on, since a failed sync would leave the course FAILED, where verify and repair
    — which make the repository again, and then this grant — are refused. There, the refusal is
    about the token or the organization: the caller fails the step with GitHub's answer."""
    ctx.heartbeat()
    try:
        ctx.github.get_repo(repo)
    except NotFoundError:
        team_problem_record(
            ctx,
            f"{slug}:{repo}",
            f"GitHub repository {ctx.github.org}/{repo} is gone: it was deleted by hand. Team "
            f"{slug} was not given {permission} on it: verify and repair the course (the "
            "repository is made again, with its teams' access).",
        )
        return True
    return False


def _grant_unsent(ctx: StepContext, grant: ExternalResource | None, key: str) -> None:
    """A grant's PUT was refused (404): nothing was granted, so its record goes back to what it
    was before this attempt — none, or as an earlier attempt left it (a changed permission still
    to give) — as when its team is found not ours before the call."""
    if grant is None:
        ExternalResource.objects.filter(
            course=ctx.course, provider=GITHUB, kind=ResourceKind.TEAM_GRANT, key=key
        ).delete()
    else:
        ExternalResource.objects.filter(id=grant.id).update(state=grant.state)


def sync_github_teams(ctx: StepContext) -> None:
    org = ctx.github.org
    for spec in team_specs(ctx.course):

        def make(spec: TeamSpec = spec) -> Found:
            # Reads by slug first (and again on "must be unique"): a lost answer finds the team.
            team = ctx.github.ensure_team(
                spec.name, description=_team_description(ctx.course, spec)
            )
            _ours_or_conflict(ctx, team)
            teams_checked(ctx)[team.slug] = None  # just read, and ours: no read for its grants
            return Found(
                str(team.id),
                url=f"https://github.com/orgs/{org}/teams/{team.slug}",
                data={"id": team.id, "slug": team.slug, "name": team.name, "purpose": spec.purpose},
            )

        team = resource_ensure(
            ctx,
            provider=GITHUB,
            kind=ResourceKind.TEAM,
            key=spec.slug,
            create=make,
            lab_group=spec.lab_group,
        )
        slug = team.data.get("slug", spec.slug)
        team_id = int(team.data.get("id") or team.external_id)
        for repo, permission in spec.repos:
            key = f"{spec.slug}:{repo}"
            grant = _existing(ctx, GITHUB, ResourceKind.TEAM_GRANT, key)
            stale = grant is not None and grant.data.get("permission") != permission
            unsent = grant is None or grant.state != CONFIRMED or stale
            if unsent and team_not_ours(ctx, slug, team_id):
                break  # no repository for another's team (the operation says why)
            _redo_if(grant, stale)

            def give(
                repo: str = repo,
                permission: str = permission,
                slug: str = slug,
                team: ExternalResource = team,
            ) -> Found:
                # An absolute PUT: repeating it after a lost answer changes nothing.
                ctx.github.grant_team_repo(slug, repo, permission=permission)
                return Found(
                    team.external_id,
                    url=team.url,
                    data={"team": slug, "repo": repo, "permission": permission},
                )

            try:
                resource_ensure(
                    ctx,
                    provider=GITHUB,
                    kind=ResourceKind.TEAM_GRANT,
                    key=key,
                    create=give,
                    lab_group=spec.lab_group,
                )
            except NotFoundError:
                # The team read again, on such a refusal only: deleted by hand since this attempt
                # read it, it takes the path of a team found so before its first grant.
                if team_not_ours(ctx, slug, team_id, again=True):
                    _grant_unsent(ctx, grant, key)
                    break  # nothing more for it in this attempt (the operation says why)
                if not _repo_gone(ctx, slug, repo, permission):
                    raise  # both there: GitHub's answer is about the token or the organization
                _grant_unsent(ctx, grant, key)  # the team's other grants still go


# -- GitHub: people ------------------------------------------------------------------------------
def sync_github_members(ctx: StepContext) -> None:
    sync_memberships(ctx)
