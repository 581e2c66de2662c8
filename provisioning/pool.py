"""The pool of staff-made Discord servers, and binding a course to its server.

Bots cannot create servers any more: staff create them and add the bot, then register them here
(admin or ``manage.py discord_servers add``). A course uses the server it was created with, or
claims the oldest available one. Claims are compare-and-set updates, so two courses never get
the same server, and a course that already holds one keeps it across retries.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from courses.models import Course
from courses.validators import SNOWFLAKE
from integrations.discord.permissions import bot_invite_url
from provisioning.context import discord_client
from provisioning.discord_access import discord_bot_membership_check
from provisioning.errors import ProvisioningConfigError
from provisioning.models import DiscordServer, ExternalResource


def discord_server_bind(*, course: Course) -> str:
    """Return the guild id of the course's server, claiming one from the pool if needed."""
    if course.discord_guild_id:
        _claim_explicit(course)
        return course.discord_guild_id
    server = DiscordServer.objects.filter(course=course).first() or _claim_available(course)
    Course.objects.filter(id=course.id).update(discord_guild_id=server.guild_id)
    course.discord_guild_id = server.guild_id
    return server.guild_id


def discord_server_release(*, course: Course) -> str | None:
    """Give the course's pool server back to the pool, unbinding the course; the guild id, or
    ``None`` when there is nothing to give back.

    For a run that claimed a server and then could not reach Discord at all: the server would
    otherwise stay claimed by a course that never used it. A server in which the course made
    anything (its rename, a channel, a role) is never handed to another course.
    """
    made_something = ExternalResource.objects.filter(
        course=course,
        provider=ExternalResource.Provider.DISCORD,
        state=ExternalResource.State.CONFIRMED,
    ).exists()
    server = DiscordServer.objects.filter(course=course).first()
    if server is None or made_something:
        return None
    with transaction.atomic():
        DiscordServer.objects.filter(id=server.id, course=course).update(
            status=DiscordServer.Status.AVAILABLE, course=None, claimed_at=None
        )
        Course.objects.filter(id=course.id, discord_guild_id=server.guild_id).update(
            discord_guild_id=""
        )
    course.discord_guild_id = ""
    return server.guild_id


def discord_server_reserve(*, course: Course) -> None:
    """Take a course's explicitly given server out of the pool when the course is created, so
    that no other course claims it before this one runs (call inside the creating transaction)."""
    if course.discord_guild_id:
        DiscordServer.objects.filter(
            guild_id=course.discord_guild_id, status=DiscordServer.Status.AVAILABLE
        ).update(status=DiscordServer.Status.CLAIMED, course=course, claimed_at=timezone.now())


def _claim_explicit(course: Course) -> None:
    """A server given explicitly is taken out of the pool, unless another course holds it."""
    now = timezone.now()
    DiscordServer.objects.filter(
        guild_id=course.discord_guild_id, status=DiscordServer.Status.AVAILABLE
    ).update(status=DiscordServer.Status.CLAIMED, course=course, claimed_at=now)
    holder = (
        DiscordServer.objects.filter(guild_id=course.discord_guild_id)
        .exclude(course=course)
        .values_list("course_id", flat=True)
        .first()
    )
    if holder is not None:
        raise ProvisioningConfigError(
            f"Discord server {course.discord_guild_id} is already used by course {holder}. "
            "Give this course another server."
        )


def _claim_available(course: Course) -> DiscordServer:
    # A server another course names explicitly is not the pool's to give, even if unclaimed.
    named = Course.objects.exclude(discord_guild_id="").values("discord_guild_id")
    for _ in range(20):  # another course may win each race; try the next server
        candidate = (
            DiscordServer.objects.filter(status=DiscordServer.Status.AVAILABLE)
            .exclude(guild_id__in=named)
            .order_by("created_at", "id")
            .values_list("id", flat=True)
            .first()
        )
        if candidate is None:
            break
        claimed = DiscordServer.objects.filter(
            id=candidate, status=DiscordServer.Status.AVAILABLE
        ).update(status=DiscordServer.Status.CLAIMED, course=course, claimed_at=timezone.now())
        if claimed:
            return DiscordServer.objects.get(id=candidate)
    raise ProvisioningConfigError(
        "No Discord server is available in the pool. Create a server in Discord, add the bot "
        f"with {bot_invite_url(settings.DISCORD_APPLICATION_ID)}, register it with "
        "`manage.py discord_servers add GUILD_ID` (or in the admin), then retry the course."
    )


def discord_server_add(*, guild_id: str, name: str = "", verify: bool = True) -> DiscordServer:
    """Register a staff-made server in the pool (idempotent).

    First, with ``verify``, check on Discord that the bot is in it with every permission the
    steps need (the check ``SETUP_DISCORD_SERVER`` makes), so that a server that would fail a
    course is refused now, with the invite link, instead of when a course claims it. Raises
    ValueError for a malformed id, ProvisioningConfigError for a bot that cannot work there, and
    the client's IntegrationError when Discord cannot be asked. ``verify=False`` is for code that
    made the server itself (tests, benchmarks, the sandbox's demo).
    """
    _check_guild_id(guild_id)
    if verify:
        discord_server_verify(guild_id=guild_id)
    server, _ = DiscordServer.objects.get_or_create(guild_id=guild_id, defaults={"name": name})
    return server


def discord_server_verify(*, guild_id: str) -> None:
    """The check of :func:`discord_server_add` alone (the admin's form runs it in ``clean``)."""
    _check_guild_id(guild_id)
    discord_bot_membership_check(
        discord=discord_client(), guild_id=guild_id, then="register the server again"
    )


def discord_server_remove(*, guild_id: str) -> None:
    """Take a server out of the pool; one that a course holds or names stays (ValueError)."""
    _check_guild_id(guild_id)
    server = DiscordServer.objects.filter(guild_id=guild_id).select_related("course").first()
    if server is None:
        raise ValueError(f"Discord server {guild_id} is not in the pool.")
    holder = server.course or Course.objects.filter(discord_guild_id=guild_id).first()
    if holder is None:
        # Compare-and-set: a course may claim the server between the read above and this delete.
        deleted, _ = DiscordServer.objects.filter(id=server.id, course__isnull=True).delete()
        if deleted:
            return
        again = DiscordServer.objects.filter(id=server.id).select_related("course").first()
        if again is None:
            return  # removed meanwhile by someone else
        holder = again.course
    raise ValueError(
        f"Discord server {guild_id} is used by course {holder} ({holder.id if holder else '?'}); "
        "it stays in the pool while the course has it."
    )


@dataclass(frozen=True)
class PoolCounts:
    available: int  # servers a course without one of its own may claim
    claimed: int


def discord_server_counts() -> PoolCounts:
    """How many servers the pool can still give, as the claim counts them (see _claim_available)."""
    named = Course.objects.exclude(discord_guild_id="").values("discord_guild_id")
    available = (
        DiscordServer.objects.filter(status=DiscordServer.Status.AVAILABLE)
        .exclude(guild_id__in=named)
        .count()
    )
    claimed = DiscordServer.objects.filter(status=DiscordServer.Status.CLAIMED).count()
    return PoolCounts(available=available, claimed=claimed)


def pool_refill_hint() -> str:
    """What staff do to add servers to the pool (``discord_servers list``, preflight)."""
    if settings.DISCORD_APPLICATION_ID:
        invite = f"add the bot with {bot_invite_url(settings.DISCORD_APPLICATION_ID)}"
    else:
        invite = "add the bot with its invite link (set DISCORD_APPLICATION_ID to get it)"
    return (
        f"create Discord servers, {invite}, and register each with "
        "`manage.py discord_servers add GUILD_ID` (or in the admin's server pool)"
    )


def _check_guild_id(guild_id: str) -> None:
    if not SNOWFLAKE.fullmatch(guild_id):
        raise ValueError(f"{guild_id!r} is not a Discord server id (a 17 to 20 digit snowflake)")
