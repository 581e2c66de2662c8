"""Handlers of TEARDOWN: remove what the course recorded as made, in reverse order.

Only what the course's ledger (``ExternalResource``) says it made is touched, by its recorded id:
a stranger's channel in the same server, a channel or role the course adopted (found there before
it created anything: ``data["adopted"]``), a look-alike repository and a team someone made again
under our team's name are left where they are.

- A confirmed resource is deleted, then its row (the checkpoint). A run that died between the two
  gets False from the ``..._if_present`` call (a team: 404 from its read by slug, which comes
  first to check its id, and from its read by id, which finds one renamed by hand) and deletes
  the row: nothing is deleted twice.
- An intended Discord channel or role whose create may have been sent (``data["creating"]``, or
  the roster's staff role: :func:`maybe_made`) is left and said so: by name alone ours cannot be
  told from a stranger's. One never sent is only a row, dropped. An intended repository is ours
  when GitHub has it with the course's marker.
- What lives inside a resource goes with it: seed and protection with their repository, team
  grants and memberships with the teams, invite links with their channel, staff overwrites with
  their channel or their role (Discord deletes them with it). An invite link on a channel that
  stays (adopted) is deleted by its code, as are replaced links still noted to delete.

What was left is written to the operation's ``params["outcomes"][step]``, shown with it in the API
and the admin (a completed step keeps no message of its own), and so is a team deleted under the
name it was renamed to by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from courses.models import Course, OwnedRepository
from integrations.errors import NotFoundError, PermanentError
from integrations.github.client import team_slug
from provisioning.context import StepContext
from provisioning.discord_access import discord_bot_membership_check
from provisioning.handlers.archive import channels_reopen
from provisioning.handlers.discord import server_name
from provisioning.handlers.github import course_marker
from provisioning.handlers.people import superseded_codes
from provisioning.models import DiscordServer, ExternalResource, Operation, ResourceKind

DISCORD = ExternalResource.Provider.DISCORD
GITHUB = ExternalResource.Provider.GITHUB
CONFIRMED = ExternalResource.State.CONFIRMED
# Rows that live inside another resource, removed with it on the platform.
IN_REPOSITORY = (ResourceKind.SEED, ResourceKind.PROTECTION)
IN_TEAM = (ResourceKind.TEAM_GRANT, ResourceKind.MEMBERSHIP)
IN_CHANNEL = (ResourceKind.INVITE, ResourceKind.STAFF_ACCESS)
ADOPTED = "adopted: it was there before the course, so it stays"
UNCONFIRMED = (
    "its creation was never confirmed, and a same-named one cannot be told from someone else's"
)
NOT_OURS = "not ours: made again by someone else"
NO_MARKER = (
    "its description lacks this course's marker: not known as ours; delete it on GitHub if it "
    "is the course's"
)
RENAMED = "renamed by hand from {slug}"
RENAMED_NOT_OURS = (
    "renamed by hand from {slug}, and its description lacks this course's marker: not known as ours"
)
NO_ID = "no id was recorded, and a same-named one cannot be told from someone else's"


def _reason(ctx: StepContext) -> str:
    return f"Course tear down: {ctx.course} ({ctx.step.name})"


def _recorded(ctx: StepContext, kind: str) -> list[ExternalResource]:
    return list(ExternalResource.objects.filter(course=ctx.course, kind=kind).order_by("-id"))


def _forget(ctx: StepContext, *resources: ExternalResource) -> None:
    """The checkpoint after a delete: the row goes, so no later run calls for it again."""
    ctx.heartbeat()  # a run that lost the course writes no checkpoint (LeaseLost)
    ExternalResource.objects.filter(id__in=[r.id for r in resources]).delete()
    ctx.progress += 1


def maybe_made(resource: ExternalResource) -> bool:
    """A Discord intent whose create may have been sent.

    Channels and group roles are ensured with ``look_first``, which marks ``creating`` before
    the call (resources.resource_ensure): unmarked, theirs was never sent. The roster's staff
    role (key ``staff``) is not: its intent is written right before its create, so any such
    intent may stand for a role that exists.
    """
    if resource.data.get("creating"):
        return True
    return resource.kind == ResourceKind.ROLE and not resource.key.startswith("group-")


def _operation(ctx: StepContext) -> Operation:
    return Operation.objects.get(steps__id=ctx.step.id)


def _report(ctx: StepContext, left: list[str], deleted: list[str] | None = None) -> None:
    """What the step left on the platforms, in the operation's ``params["outcomes"]``, and what
    it deleted that staff would not find where it was recorded (a team renamed by hand)."""
    operation = _operation(ctx)
    outcomes = dict(operation.params.get("outcomes") or {})
    parts = ["Left " + "; ".join(left) + "."] if left else []
    if deleted:
        parts.append("Deleted " + "; ".join(deleted) + ".")
    message = " ".join(parts)
    if outcomes.get(ctx.step.name, "") == message:
        return
    if message:
        outcomes[ctx.step.name] = message
    else:
        outcomes.pop(ctx.step.name, None)
    operation.params = {**operation.params, "outcomes": outcomes}
    operation.save(update_fields=["params"])


@contextmanager
def _bot_explained(ctx: StepContext) -> Iterator[None]:
    """A Discord refusal (403) during a tear down most often means the bot was removed from the
    server, or lost a permission: say so, with the link that adds it back, rather than Discord's
    bare "Missing Access". One read, and only after such a refusal."""
    try:
        yield
    except PermanentError as exc:
        guild_id = _guild_id(ctx)
        if exc.provider != DISCORD or exc.status != 403 or not guild_id:
            raise
        discord_bot_membership_check(
            discord=ctx.discord, guild_id=guild_id, then="tear the course down again"
        )
        raise


def delete_channels(ctx: StepContext) -> None:
    with _bot_explained(ctx):
        _delete_channels(ctx)


def _delete_channels(ctx: StepContext) -> None:
    left: list[str] = []
    kept_ids: set[str] = set()
    recorded = _recorded(ctx, ResourceKind.CHANNEL)
    # An adopted channel stays: one an archive made read-only gets its overwrites back first, or
    # a pool server would go back with a #general no member can post in (and the next course
    # adopts it so). Before the roles go: the group roles' overwrites are put back by their id.
    channels_reopen(ctx, [c for c in recorded if c.data.get("adopted") and c.state == CONFIRMED])
    for channel in recorded:
        name = f"#{channel.data.get('name') or channel.key}"
        if channel.data.get("adopted"):
            left.append(f"{name} ({ADOPTED})")
            kept_ids.add(channel.external_id)
        elif channel.state != CONFIRMED:
            if maybe_made(channel):
                left.append(f"{name} ({UNCONFIRMED})")
            else:
                _forget(ctx, channel)  # never created: only a row
        else:
            ctx.heartbeat()
            ctx.discord.delete_channel_if_present(channel.external_id, reason=_reason(ctx))
            _forget(ctx, channel)
    # Discord deletes a channel's invites and overwrites with it; overwrites on a channel left
    # stay (the staff role's go with the role). (An invite records its channel's id in its data,
    # a staff overwrite as its own id.)
    gone = []
    for row in ExternalResource.objects.filter(course=ctx.course, kind__in=IN_CHANNEL):
        kept = str(row.data.get("channel_id") or row.external_id) in kept_ids
        if row.kind == ResourceKind.INVITE:
            if kept and row.state != CONFIRMED:  # its create may have been sent: said, always
                left.append(f"invite link {row.key} ({UNCONFIRMED})")
            if _invite_links_delete(ctx, row, channel_kept=kept):
                continue  # deleted, row and all
        if not kept or row.kind == ResourceKind.INVITE:
            gone.append(row.id)
    ExternalResource.objects.filter(id__in=gone).delete()
    _report(ctx, left)


def _invite_links_delete(ctx: StepContext, row: ExternalResource, *, channel_kept: bool) -> bool:
    """Delete on Discord the links of an invite row that would outlive the tear down: the link
    itself when its channel stays (an adopted ``#general``: a pool server must not go back with
    a link that still lets the old course's people in), and the older links it replaced that are
    still noted to delete (``people.invite_supersede``). Only codes the course recorded; "Unknown
    Invite" counts as done. Then the row goes (the checkpoint); False when there was nothing to
    delete."""
    codes = superseded_codes(row)
    if channel_kept and row.state == CONFIRMED and row.external_id:
        codes.append(row.external_id)
    if not codes:
        return False
    for code in codes:
        ctx.heartbeat()
        ctx.discord.delete_invite(code, reason=_reason(ctx))
    _forget(ctx, row)
    return True


def delete_roles(ctx: StepContext) -> None:
    with _bot_explained(ctx):
        _delete_roles(ctx)


def _delete_roles(ctx: StepContext) -> None:
    guild_id = _guild_id(ctx)
    left: list[str] = []
    for role in _recorded(ctx, ResourceKind.ROLE):
        name = f"role {role.data.get('name') or role.key}"
        if role.data.get("adopted"):
            left.append(f"{name} ({ADOPTED})")
        elif role.state != CONFIRMED:
            if maybe_made(role):
                left.append(f"{name} ({UNCONFIRMED})")
            else:
                _forget(ctx, role)
        else:
            ctx.heartbeat()
            ctx.discord.delete_role_if_present(guild_id, role.external_id, reason=_reason(ctx))
            _forget(ctx, role)
    # Deleting a role removes its overwrites from every channel, those on a channel left too.
    roles = ExternalResource.objects.filter(course=ctx.course, kind=ResourceKind.ROLE)
    kept_roles = set(roles.values_list("external_id", flat=True))
    overwrites = ExternalResource.objects.filter(course=ctx.course, kind=ResourceKind.STAFF_ACCESS)
    gone = [row.id for row in overwrites if str(row.data.get("role_id", "")) not in kept_roles]
    ExternalResource.objects.filter(id__in=gone).delete()
    _report(ctx, left)


def _guild_id(ctx: StepContext) -> str:
    server = ExternalResource.objects.filter(
        course=ctx.course, kind=ResourceKind.SERVER, key="server"
    ).first()
    return (server.external_id if server else "") or ctx.course.discord_guild_id


def _team_slug(team: ExternalResource) -> str:
    return str(team.data.get("slug") or team_slug(str(team.data.get("name") or team.key)))


def recorded_team_id(team: ExternalResource) -> int | None:
    """The GitHub id the sync recorded for a team (``external_id``, also ``data["id"]``)."""
    recorded = team.external_id or team.data.get("id")
    try:
        return int(recorded) if recorded not in (None, "") else None
    except (TypeError, ValueError):
        return None


def remove_teams(ctx: StepContext) -> None:
    """Delete each team the course made, checked by id first: GitHub addresses a team by its
    slug, which a team made again under the same name by someone else takes over.

    - A confirmed team is read by slug (1 read) and deleted (1 write) only when it has the id
      recorded when it was made; its row then goes. Gone (404 by slug, then by id: below): only
      the row goes — which is also how a run that died between the delete and its row finishes:
      no second DELETE.
    - Another id under the slug: ours was renamed or deleted by hand and someone made theirs
      under the name. Theirs is not touched and the step says so; ours is looked for by its id
      (below).
    - Our id but no course marker in its description (edited out by hand, or a repair before
      the sync checked the marker recorded a stranger's team, id and all): not touched, said so
      (as verify reports it); our row goes.
    - A confirmed team with no id recorded (a row not written by the sync) is left with its row
      and said so, as an unconfirmed one is: by slug alone ours cannot be told from a stranger's.
    - Gone by its slug, or another id there, it is read by its recorded id (1 read, one more the
      first time for the organization's id; none when the slug answers with ours): renaming a
      team changes its slug, not its id. Found with the course's marker, it is deleted under its
      current slug and the step says it had been renamed; without the marker it is left and said
      so, its row forgotten as above.
    """
    left: list[str] = []
    deleted: list[str] = []
    for team in _recorded(ctx, ResourceKind.TEAM):
        slug = _team_slug(team)
        team_id = recorded_team_id(team)
        if team.data.get("adopted"):
            left.append(f"team {slug} ({ADOPTED})")
        elif team.state != CONFIRMED:
            left.append(f"team {slug} ({UNCONFIRMED})")
        elif team_id is None:
            left.append(f"team {slug} ({NO_ID})")
        else:
            ctx.heartbeat()
            found = ctx.github.get_team(slug)
            ours, renamed = found, False
            if found is None or found.id != team_id:
                # Renamed by hand (its slug changed with its name; someone may have taken the old
                # one since), or deleted: by its id.
                if found is not None:
                    left.append(f"team {slug} ({NOT_OURS})")  # the team now under our old name
                ctx.heartbeat()
                ours = ctx.github.get_team_by_id(team_id)
                renamed = ours is not None and ours.slug != slug
            # The marker too: before the sync checked it, a repair could record a stranger's
            # team (made again under our name) as ours, id and all.
            if ours is not None and course_marker(ctx.course) not in ours.description:
                reason = RENAMED_NOT_OURS.format(slug=slug) if renamed else NO_MARKER
                left.append(f"team {ours.slug} ({reason})")
            elif ours is not None:
                # A team deleted and made again between this read and the delete would be
                # deleted: a window of one request, where by slug alone there was no check.
                ctx.heartbeat()
                ctx.github.delete_team_if_present(ours.slug)
                if renamed:
                    deleted.append(f"team {ours.slug} ({RENAMED.format(slug=slug)})")
            _forget(ctx, team)
    if not ExternalResource.objects.filter(course=ctx.course, kind=ResourceKind.TEAM).exists():
        # A deleted team takes its repository grants and its memberships with it. An invitation
        # row stays: it is the organization's invitation ledger (provisioning.invitations), and
        # GitHub goes on counting the invitation for 24 hours whatever became of the team.
        # (Chosen in Python: a JSON key missing from a row reads as NULL in SQL, and an exclude
        # on it would keep that row too.)
        in_team = ExternalResource.objects.filter(course=ctx.course, kind__in=IN_TEAM)
        gone = [r.id for r in in_team if r.data.get("invites") is not True]
        ExternalResource.objects.filter(id__in=gone).delete()
    _report(ctx, left, deleted)


def _with_contents(ctx: StepContext, repo: ExternalResource) -> list[ExternalResource]:
    inside = ExternalResource.objects.filter(
        course=ctx.course, kind__in=IN_REPOSITORY, key=repo.key
    )
    return [repo, *inside]


def _repository_mode(ctx: StepContext) -> str:
    """Fixed when the tear down was asked (its params), so a run after a change of the setting
    does not treat half the repositories one way and half the other."""
    operation = _operation(ctx)
    return str(operation.params.get("repositories") or settings.TEARDOWN_REPOSITORIES)


def remove_repos(ctx: StepContext) -> None:
    archive = _repository_mode(ctx) == "archive"
    left: list[str] = []
    for repo in _recorded(ctx, ResourceKind.REPOSITORY):
        full_name = f"{ctx.github.org}/{repo.key}"
        if archive and repo.data.get("archived"):
            continue  # archived by an earlier run of this tear down
        if repo.state == CONFIRMED:
            repo_id = int(repo.external_id)
        else:
            # Intended: ours only if GitHub has it with this course's marker (the create's
            # answer was lost); a same-named repository without it is someone else's.
            ctx.heartbeat()
            try:
                found = ctx.github.get_repo(repo.key)
            except NotFoundError:
                _forget(ctx, *_with_contents(ctx, repo))
                continue
            if course_marker(ctx.course) not in found.description:
                left.append(f"repository {full_name} (not this course's: it lacks the marker)")
                _forget(ctx, *_with_contents(ctx, repo))
                continue
            repo_id = found.id
        if archive:
            _archive(ctx, repo, repo_id)
            continue
        ctx.heartbeat()
        # Read by its id and deleted under its current name: a look-alike that took the recorded
        # name is never touched, one renamed by hand is still deleted.
        ctx.github.delete_repo_if_present(repo.key, repo_id=repo_id)
        _forget(ctx, *_with_contents(ctx, repo))
    _report(ctx, left)


def _archive(ctx: StepContext, repo: ExternalResource, repo_id: int) -> None:
    """``TEARDOWN_REPOSITORIES=archive``: read-only on GitHub, its rows kept, marked archived."""
    ctx.heartbeat()
    try:
        current = ctx.github.get_repo_by_id(repo_id)
    except NotFoundError:  # deleted by hand meanwhile: nothing left to archive
        _forget(ctx, *_with_contents(ctx, repo))
        return
    if current.full_name.split("/", 1)[0].lower() != ctx.github.org.lower():
        raise PermanentError(
            f"GitHub: repository #{repo_id} now belongs to {current.full_name}, outside "
            f"{ctx.github.org}: not archived",
            provider="github",
        )
    if not current.archived:
        ctx.github.set_archived(current.name, True)
    ctx.heartbeat()
    repo.external_id = str(repo_id)
    repo.state = CONFIRMED
    repo.data = {**repo.data, "archived": True}
    repo.save(update_fields=["external_id", "state", "data", "updated_at"])
    ctx.progress += 1


def release_server(ctx: StepContext) -> None:
    with _bot_explained(ctx):
        _release_server(ctx)


def _release_server(ctx: StepContext) -> None:
    """Give the server back as it was found, then keep the course as a deleted record.

    A pool server takes back its pool name and returns to the pool; a server staff gave the
    course takes back the name it had (recorded by SETUP_DISCORD_SERVER). Bots cannot delete
    servers. Then, in one transaction: the server's row goes, the pool row is available again,
    and the course is soft-deleted with no server, so its name, semester, slug, repository names
    and server are free for a new course.
    """
    course = ctx.course
    server = ExternalResource.objects.filter(
        course=course, provider=DISCORD, kind=ResourceKind.SERVER, key="server"
    ).first()
    pool = DiscordServer.objects.filter(course=course).first()
    left: list[str] = []
    if server is not None:
        guild_id = server.external_id or course.discord_guild_id
        original = str(server.data.get("original_name") or "")
        name = (pool.name if pool else "") or original
        if not name:
            left.append(f"Discord server {guild_id} with its name (none was recorded to restore)")
        elif server.state == CONFIRMED:
            ctx.heartbeat()
            ctx.discord.rename_guild(guild_id, name, reason=_reason(ctx))
        elif original:
            # The run that set it up died after reading the server: it may have renamed it.
            ctx.heartbeat()
            if ctx.discord.get_guild(guild_id)["name"] == server_name(course):
                ctx.discord.rename_guild(guild_id, name, reason=_reason(ctx))
    ctx.heartbeat()
    now = timezone.now()
    with transaction.atomic():
        if server is not None:
            server.delete()
        DiscordServer.objects.filter(course=course).update(
            status=DiscordServer.Status.AVAILABLE, course=None, claimed_at=None
        )
        Course.objects.filter(id=course.id).update(
            deleted_at=Coalesce(F("deleted_at"), Value(now)), discord_guild_id="", updated_at=now
        )
        # A torn-down course owns no repository name: a new course may take them.
        OwnedRepository.objects.filter(course=course).delete()
    course.discord_guild_id = ""
    _report(ctx, left)
