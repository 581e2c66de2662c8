"""The fake Discord REST API v10: routes, authentication, rate limits and Discord's error shapes."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from sandbox.core import Platform
from sandbox.discord import channels, errors, guilds
from sandbox.discord import permissions as perms
from sandbox.discord.ratelimit import (
    RateLimiter,
    bucket_hash,
    major_parameter,
    too_many_requests,
)
from sandbox.discord.schema import subset_validator
from sandbox.discord.state import Channel, DiscordState, Guild, Settings
from sandbox.http import Request, Response

DiscordHandler = Callable[[DiscordState, Request, Any], Response]

# (method, template, handler, component). ``component`` narrows an ``anyOf`` request schema to
# the guild branch: the description's PATCH /channels also accepts DM and thread bodies (an empty
# name is fine for a DM), but the sandbox knows it is editing a guild channel.
ROUTES: tuple[tuple[str, str, DiscordHandler, str | None], ...] = (
    ("GET", "/users/@me", guilds.get_me, None),
    ("GET", "/users/@me/guilds", guilds.list_my_guilds, None),
    ("GET", "/applications/@me", guilds.get_my_application, None),
    ("GET", "/guilds/{guild_id}", guilds.get_guild, None),
    ("PATCH", "/guilds/{guild_id}", guilds.update_guild, None),
    ("GET", "/guilds/{guild_id}/members/{user_id}", guilds.get_member, None),
    ("GET", "/guilds/{guild_id}/roles", guilds.list_roles, None),
    ("POST", "/guilds/{guild_id}/roles", guilds.create_role, None),
    ("DELETE", "/guilds/{guild_id}/roles/{role_id}", guilds.delete_role, None),
    ("GET", "/guilds/{guild_id}/channels", channels.list_channels, None),
    ("POST", "/guilds/{guild_id}/channels", channels.create_channel, None),
    ("GET", "/channels/{channel_id}", channels.get_channel, None),
    (
        "PATCH",
        "/channels/{channel_id}",
        channels.update_channel,
        "UpdateGuildChannelRequestPartial",
    ),
    ("DELETE", "/channels/{channel_id}", channels.delete_channel, None),
    ("PUT", "/channels/{channel_id}/permissions/{overwrite_id}", channels.put_overwrite, None),
    (
        "DELETE",
        "/channels/{channel_id}/permissions/{overwrite_id}",
        channels.delete_overwrite,
        None,
    ),
    ("GET", "/channels/{channel_id}/invites", channels.list_invites, None),
    ("POST", "/channels/{channel_id}/invites", channels.create_invite, "CreateGuildInviteRequest"),
    ("GET", "/guilds/{guild_id}/invites", channels.list_guild_invites, None),
    ("DELETE", "/invites/{code}", channels.delete_invite, None),
)


def _is_snowflake(value: str) -> bool:
    return value.isdigit() and int(value) < 2**64


class FakeDiscord(Platform):
    """Discord as a bot sees it: servers that staff made and added the bot to, and their objects.

    Options (``reset``/``configure``, see ``state.Settings``): ``bot_token``, ``application_id``,
    ``bot_name``, ``rate_limit`` ``{"limit", "window"}``, ``global_limit`` (per second),
    ``max_roles``, ``max_channels``, ``max_channels_per_category``, ``max_invites``.
    """

    name = "discord"
    prefixes = ("/discord/api/v10",)

    state: DiscordState
    limiter: RateLimiter

    # -- routes ---------------------------------------------------------------------------------
    def register_routes(self) -> None:
        for method, template, handler, component in ROUTES:
            self.router.add(method, template, self._serve(method, template, handler, component))
        # Not in the description any more (see guilds.create_guild): refused, body unread.
        self.router.add("POST", "/guilds", self._refuse_guild_creation)

    def _refuse_guild_creation(self, request: Request) -> Response:
        return guilds.create_guild(self.state, request, None)

    def _serve(
        self, method: str, template: str, handler: DiscordHandler, component: str | None
    ) -> Callable[[Request], Response]:
        def serve(request: Request) -> Response:
            for name, value in request.params.items():
                # Ids are snowflakes; an invite's ``code`` is not (an unknown one is 10006).
                if name.endswith("_id") and not _is_snowflake(value):
                    message = f'Value "{value}" is not snowflake.'
                    raise errors.invalid_field((name,), "NUMBER_TYPE_COERCE", message)
            body = request.json()  # malformed JSON: the dispatcher calls bad_json()
            validator = subset_validator()
            problems = validator.form_errors(method, template, body)
            if not problems and component is not None and body is not None:
                problems = validator.form_errors(method, template, body, component=component)
            if problems:
                if problems[0].code == "BODY_REQUIRED":
                    # No body where one is required (POST /channels/{id}/invites needs at least
                    # {}): Discord cannot parse nothing as JSON.
                    return errors.invalid_json()
                raise errors.invalid_form(problems)
            return handler(self.state, request, body)

        return serve

    # -- settings and state ---------------------------------------------------------------------
    def reset(self, options: dict[str, Any]) -> None:
        settings = Settings()
        settings.update(dict(options))
        self.state = DiscordState(settings)
        self.limiter = RateLimiter()
        self._apply_limits()
        self._current: tuple[str, str] | None = None

    def configure(self, options: dict[str, Any]) -> None:
        settings = copy.deepcopy(self.state.settings)
        settings.update(dict(options))  # validates everything before anything changes
        old_id = self.state.bot_id
        if (settings.application_id, settings.bot_name) != (old_id, self.state.bot.username):
            self.state.rename_bot(old_id, settings.application_id, settings.bot_name)
        self.state.settings = settings
        self._apply_limits()

    def _apply_limits(self) -> None:
        settings = self.state.settings
        self.limiter.configure(
            int(settings.rate_limit["limit"]),
            float(settings.rate_limit["window"]),
            settings.global_limit,
        )

    def snapshot(self) -> dict[str, Any]:
        return self.state.snapshot()

    def staff_create_guild(
        self,
        name: str,
        permissions: str | int = perms.PROVISIONING_BOT,
        guild_id: str | None = None,
        bot_member: bool = True,
        default_channels: bool = False,
    ) -> dict[str, Any]:
        """Stand in for staff creating a server and adding the bot with OAuth2.

        ``permissions`` are those of the bot's managed role (the ``permissions`` of the OAuth2
        link); ``bot_member=False`` makes a server the bot is not in. Returns the guild as
        ``GET /guilds/{id}`` shows it, plus ``bot_member`` and the OAuth2 link staff would open.
        """
        guild = self.state.staff_create_guild(
            name,
            permissions=permissions,
            guild_id=guild_id,
            bot_member=bot_member,
            default_channels=default_channels,
        )
        data = guilds.guild_json(self.state, guild)
        data["channels"] = [channel.to_json() for channel in guild.sorted_channels()]
        data["bot_member"] = bot_member
        data["oauth2_url"] = (
            "https://discord.com/oauth2/authorize"
            f"?client_id={self.state.bot_id}&scope=bot&permissions={perms.parse_permissions(permissions)}"
            f"&guild_id={guild.id}&disable_guild_select=true"
        )
        return data

    # -- people changing things behind the bot's back (drift) ----------------------------------
    def _staff_find_channel(self, channel_id: str) -> tuple[Guild, Channel]:
        for guild in self.state.guilds.values():
            if channel_id in guild.channels:
                return guild, guild.channels[channel_id]
        raise LookupError(f"no channel {channel_id}")

    def _staff_find_guild(self, guild_id: str) -> Guild:
        if guild_id not in self.state.guilds:
            raise LookupError(f"no guild {guild_id}")
        return self.state.guilds[guild_id]

    def staff_delete_channel(self, channel_id: str) -> None:
        """A person deletes a channel in Discord's app."""
        guild, channel = self._staff_find_channel(channel_id)
        channels.remove_channel(self.state, guild, channel)

    def staff_drop_overwrite(self, channel_id: str, overwrite_id: str) -> None:
        """A person removes one permission overwrite (a role or member) from a channel."""
        _, channel = self._staff_find_channel(channel_id)
        if channel.overwrites.pop(overwrite_id, None) is None:
            raise LookupError(f"channel {channel_id} has no overwrite for {overwrite_id}")

    def staff_delete_role(self, guild_id: str, role_id: str) -> None:
        """A person deletes a role (its overwrites go with it, as in Discord)."""
        guild = self._staff_find_guild(guild_id)
        role = guild.roles.get(role_id)
        if role is None or role.id == guild.id:
            raise LookupError(f"no deletable role {role_id} in guild {guild_id}")
        guilds.remove_role(self.state, guild, role)

    def staff_accept_invite(self, code: str, username: str) -> dict[str, Any]:
        """A person joins the server through an invite link (with the invite's roles)."""
        return channels.accept_invite(self.state, code, username)

    def staff_remove_bot(self, guild_id: str) -> None:
        """A person kicks the bot: its managed role goes too; the guild is unknown to it now."""
        guild = self._staff_find_guild(guild_id)
        if guild.members.pop(self.state.bot_id, None) is None:
            raise LookupError(f"the bot is not in guild {guild_id}")
        for role in [r for r in guild.roles.values() if r.bot_id == self.state.bot_id]:
            guilds.remove_role(self.state, guild, role)

    # -- what every request goes through --------------------------------------------------------
    def _bucket(self, request: Request) -> tuple[str, str]:
        route, params, _ = self.router.match(request.method, request.path)
        if route is None:
            return bucket_hash(request.method, request.path), ""
        return bucket_hash(request.method, route.template), major_parameter(params)

    def authenticate(self, request: Request) -> Response | None:
        self.state.counters["requests"] += 1
        # Remembered for the answers the dispatcher makes without us (an injected 429 still
        # carries its bucket's headers). Safe: the whole request runs under the sandbox's lock.
        self._current = self._bucket(request)
        expected = f"Bot {self.state.settings.bot_token}"
        if request.header("Authorization").strip() != expected:
            self.state.counters["unauthorized"] += 1
            return errors.unauthorized()
        return None

    def before_dispatch(self, request: Request) -> Response | None:
        bucket, major = self._current or self._bucket(request)
        now = time.time()
        refusal = self.limiter.acquire(bucket, major, now)
        if refusal is None:
            return None
        counters = self.state.counters
        counters["rate_limited"] += 1
        counters["rate_limited_global" if refusal.is_global else "rate_limited_user"] += 1
        headers = self.limiter.headers(bucket, major, now)
        return too_many_requests(refusal.retry_after, refusal.is_global, headers)

    def after_dispatch(self, request: Request, response: Response) -> None:
        bucket, major = self._current or self._bucket(request)
        for name, value in self.limiter.headers(bucket, major, time.time()).items():
            response.headers.setdefault(name, value)

    def error(self, status: int, message: str) -> Response:
        if status == 429:  # a fault rule asking for a 429 gets Discord's 429, not a generic error
            return self.too_many_requests(0.05)
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = message
        return Response(status, {"message": f"{status}: {phrase}", "code": 0})

    def too_many_requests(self, retry_after: float) -> Response:
        self.state.counters["rate_limited"] += 1
        self.state.counters["rate_limited_injected"] += 1
        headers: dict[str, str] = {}
        if self._current is not None:
            headers = self.limiter.headers(*self._current, time.time())
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Reset-After"] = f"{retry_after:.3f}"
            headers["X-RateLimit-Reset"] = f"{time.time() + retry_after:.3f}"
        return too_many_requests(retry_after, False, headers)

    def bad_json(self, request: Request, detail: str) -> Response:
        return errors.invalid_json()
