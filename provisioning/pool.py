"""The pool of staff-made Discord servers, and binding a course to its server.

Bots cannot create servers any more: staff create them and add the bot, then register them here
(admin or ``manage.py discord_servers add``). A course uses the server it was created with, or
claims the oldest available one. Claims are compare-and-set updates, so two courses never get
the same server, and a course that already holds one keeps it across retries.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from courses.models import Course
from courses.validators import SNOWFLAKE
from integrations.discord.permissions import bot_invite_url
from provisioning.errors import ProvisioningConfigError
from provisioning.models import DiscordServer


def discord_server_bind(*, course: Course) -> str:
    """Return the guild id of the course's server, claiming one from the pool if needed."""
    if course.discord_guild_id:
        _claim_explicit(course)
        return course.discord_guild_id
    server = DiscordServer.objects.filter(course=course).first() or _claim_available(course)
    Course.objects.filter(id=course.id).update(discord_guild_id=server.guild_id)
    course.discord_guild_id = server.guild_id
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


def discord_server_add(*, guild_id: str, name: str = "") -> DiscordServer:
    """Register a staff-made server in the pool (idempotent)."""
    if not SNOWFLAKE.fullmatch(guild_id):
        raise ValueError(f"{guild_id!r} is not a Discord server id (a 17 to 20 digit snowflake)")
    server, _ = DiscordServer.objects.get_or_create(guild_id=guild_id, defaults={"name": name})
    return server
