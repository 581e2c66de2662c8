"""Discord REST API v10 client: one ``requests`` session, every call audited.

Every request goes through :meth:`DiscordClient.request`, the single choke point that tests fake
and that writes one :class:`audit.models.AuditLog` row per HTTP request actually sent. It obeys
Discord's rate-limit headers (per bucket and major parameter, plus the global limit): it waits for
a bucket that has run dry, and after a 429 it waits ``retry_after`` and resends, which is safe
because a 429 has no effect. A call that is safe to repeat (GET, PUT, DELETE, or a PATCH of
absolute values) is sent again after a transient failure; a create (POST) is not: a 5xx may have
had its effect, and only the step handler knows how to look before writing again. Any other
failure is raised as a typed error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import requests

from audit.services import audit_log_record
from integrations.errors import (
    IntegrationError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from integrations.ratelimit import LimitStore, limit_store, token_key
from integrations.transport import Endpoint, call_repeating, connection_error, parse_retry_after

USER_AGENT = "DiscordBot (https://github.com/course-provisioning/course-provisioning, 0.1.0)"
MAJOR_PARAMETERS = ("guild_id", "channel_id", "webhook_id")
# Discord answers these 400 codes when a write limit was hit: slow down, then it works.
RATE_LIMIT_CODES = {20028, 20029, 130000}
MAX_429_RESENDS = 3
MAX_CAPACITY_CHECKS = 5


class DiscordClient:
    provider = "discord"

    def __init__(
        self,
        *,
        api_url: str,
        token: str,
        timeout: tuple[float, float] = (5.0, 30.0),
        max_wait: float = 30.0,
        safe_retries: int = 2,
        safe_retry_delay: float = 0.5,
        global_limit: int = 45,
        session: requests.Session | None = None,
        store: LimitStore | None = None,
        on_wait: Callable[[], None] | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.endpoint = Endpoint("Discord", self.api_url, "DISCORD_API_URL")
        self.timeout = timeout
        # A wait longer than this is not slept through: the caller gets a RateLimitedError and
        # can re-schedule the work instead of holding a worker.
        self.max_wait = max_wait
        self.safe_retries = safe_retries
        self.safe_retry_delay = safe_retry_delay
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bot {token}", "User-Agent": USER_AGENT})
        # Buckets and pauses are the bot's, shared by every worker (see integrations.ratelimit).
        self.store = store or limit_store()
        # Called before every sleep: the runner proves it is alive (and learns if it is not).
        self.on_wait = on_wait or (lambda: None)
        self.global_limit = global_limit
        self._key = f"discord:{token_key(token)}"

    # -- the choke point ----------------------------------------------------------------------
    def request(
        self,
        method: str,
        route: str,
        *,
        params: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
        json: Any = None,
        reason: str = "",
        repeatable: bool | None = None,
    ) -> Any:
        """Send one call; ``route`` is a template such as ``/guilds/{guild_id}/channels``, filled
        from ``params``; ``query`` becomes the query string.

        A call that is safe to repeat (GET, PUT, DELETE) is sent again after a transient failure;
        a POST or PATCH is not, since its effect may have happened, unless the caller knows better
        (``repeatable=True``: a PATCH that sets absolute values, such as a channel's whole list of
        overwrites, gives the same result however often it is applied).
        """
        return call_repeating(
            lambda: self._request_once(method, route, params, query, json, reason),
            repeatable=method in ("GET", "PUT", "DELETE") if repeatable is None else repeatable,
            retries=self.safe_retries,
            delay=self.safe_retry_delay,
            sleep=self._sleep,
        )

    def _request_once(
        self,
        method: str,
        route: str,
        params: dict[str, str] | None,
        query: dict[str, Any] | None,
        json: Any,
        reason: str,
    ) -> Any:
        params = params or {}
        path = route.format(**{k: quote(str(v), safe="@") for k, v in params.items()})
        if query:
            path = f"{path}?{urlencode(query)}"
        major = next((str(params[p]) for p in MAJOR_PARAMETERS if p in params), "")
        route_key = (f"{method} {route}", major)
        headers = {}
        if reason:
            headers["X-Audit-Log-Reason"] = quote(reason[:512], safe=" ")
        for resend in range(MAX_429_RESENDS + 1):
            self._wait_for_capacity(route_key)
            response = self._send(method, route, path, json, headers)
            self._remember_limits(route_key, response)
            if response.status_code != 429:
                return self._result(method, route, response)
            retry_after = _retry_after_seconds(response)
            if response.headers.get("X-RateLimit-Global") or _json(response).get("global"):
                self.store.pause(f"{self._key}:global", retry_after)
            else:
                self._bucket_spent(route_key, retry_after)
            if retry_after > self.max_wait or resend == MAX_429_RESENDS:
                break
            self._sleep(retry_after)
        raise RateLimitedError(
            f"Discord rate limit on {method} {route}: retry in {retry_after:.1f}s",
            provider=self.provider,
            status=429,
            retry_after=retry_after,
        )

    def _send(
        self, method: str, route: str, path: str, body: Any, headers: dict[str, str]
    ) -> requests.Response:
        url = self.api_url + path
        started = time.monotonic()
        try:
            response = self.session.request(
                method, url, json=body, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            self._audit(method, route, url, body, None, "", started, error=repr(exc))
            raise connection_error(exc, self.endpoint, what=f"Discord {method} {route}") from exc
        self._audit(method, route, url, body, response.status_code, response.text, started)
        return response

    def _audit(
        self,
        method: str,
        route: str,
        url: str,
        body: Any,
        status: int | None,
        text: str,
        started: float,
        error: str = "",
    ) -> None:
        audit_log_record(
            provider=self.provider,
            method=method,
            route=route,
            url=url,
            request_body=body,
            response_status=status,
            response_text=text,
            duration_ms=(time.monotonic() - started) * 1000,
            error=error,
        )

    # -- rate limits --------------------------------------------------------------------------
    def _wait_for_capacity(self, route_key: tuple[str, str]) -> None:
        """Wait for the global pause, the route's bucket and a slot under the global limit."""
        for _ in range(MAX_CAPACITY_CHECKS):
            wait = self.store.paused_for(f"{self._key}:global")
            bucket = self._bucket_key(route_key)
            if not wait and bucket:
                wait = self.store.bucket_take(bucket)
            if not wait:
                wait = self.store.reserve(
                    f"{self._key}:global-window", [(self.global_limit, 1.0)], 0, self.max_wait
                )
                self._sleep_or_defer(wait)
                return
            self._sleep_or_defer(wait)
        raise RateLimitedError(
            "Discord rate limit: no capacity after repeated waits",
            provider=self.provider,
            retry_after=1.0,
        )

    def _sleep_or_defer(self, wait: float) -> None:
        if wait > self.max_wait:
            raise RateLimitedError(
                f"Discord rate limit: capacity in {wait:.1f}s",
                provider=self.provider,
                retry_after=wait,
            )
        if wait > 0:
            self._sleep(wait)

    def _sleep(self, seconds: float) -> None:
        self.on_wait()
        time.sleep(seconds)

    def _bucket_key(self, route_key: tuple[str, str]) -> str | None:
        bucket_id = self.store.recall(f"{self._key}:route:{route_key[0]}")
        return f"{self._key}:bucket:{bucket_id}:{route_key[1]}" if bucket_id else None

    def _bucket_spent(self, route_key: tuple[str, str], retry_after: float) -> None:
        bucket = self._bucket_key(route_key)
        if bucket:
            self.store.bucket_update(bucket, 0, retry_after)

    def _remember_limits(self, route_key: tuple[str, str], response: requests.Response) -> None:
        bucket_id = response.headers.get("X-RateLimit-Bucket")
        remaining = response.headers.get("X-RateLimit-Remaining")
        reset_after = response.headers.get("X-RateLimit-Reset-After")
        if not (bucket_id and remaining is not None and reset_after is not None):
            return
        try:
            remaining_count, reset_seconds = int(remaining), float(reset_after)
        except ValueError:
            return
        self.store.remember(f"{self._key}:route:{route_key[0]}", bucket_id)
        self.store.bucket_update(
            f"{self._key}:bucket:{bucket_id}:{route_key[1]}", remaining_count, reset_seconds
        )

    # -- answers ------------------------------------------------------------------------------
    def _result(self, method: str, route: str, response: requests.Response) -> Any:
        status = response.status_code
        if status < 400:
            return _json(response) if response.content else None
        body = _json(response)
        code = body.get("code")
        detail = body.get("message") or response.reason or "error"
        errors = body.get("errors")
        message = f"Discord {method} {route} answered {status}"
        message += f" (code {code}): {detail}" if code else f": {detail}"
        if errors:
            message += f" {errors}"
        kwargs = {"provider": self.provider, "status": status, "code": code}
        error: IntegrationError
        if status >= 500 or code in RATE_LIMIT_CODES:
            error = TransientError(message, **kwargs)
        elif status == 401:
            error = PermanentError(
                "Discord rejected the bot token (401): set DISCORD_BOT_TOKEN to the token of "
                "your Discord application's bot.",
                **kwargs,
            )
        elif status == 404:
            error = NotFoundError(message, **kwargs)
        else:
            error = PermanentError(message, **kwargs)
        raise error

    # -- the calls the steps make -------------------------------------------------------------
    def get_current_user(self) -> dict[str, Any]:
        return self.request("GET", "/users/@me")

    def get_my_guild(self, guild_id: str) -> dict[str, Any] | None:
        """The bot's own entry for one server, in ONE call, or ``None`` when the bot is not in it.

        ``GET /users/@me/guilds`` lists the bot's servers by ascending id, each with the bot's
        total ``permissions`` there (roles, not channel overwrites); asking for the one server
        right after ``guild_id - 1`` finds it whatever the number of servers the bot is in.
        """
        found = self.request(
            "GET", "/users/@me/guilds", query={"after": str(int(guild_id) - 1), "limit": 1}
        )
        return found[0] if found and found[0].get("id") == guild_id else None

    def get_current_application(self) -> dict[str, Any]:
        """The bot's application: its ``id`` is the ``client_id`` of the invite link."""
        return self.request("GET", "/applications/@me")

    def get_guild(self, guild_id: str) -> dict[str, Any]:
        return self.request("GET", "/guilds/{guild_id}", params={"guild_id": guild_id})

    def get_member(self, guild_id: str, user_id: str) -> dict[str, Any]:
        return self.request(
            "GET",
            "/guilds/{guild_id}/members/{user_id}",
            params={"guild_id": guild_id, "user_id": user_id},
        )

    def rename_guild(self, guild_id: str, name: str, *, reason: str = "") -> dict[str, Any]:
        return self.request(
            "PATCH",
            "/guilds/{guild_id}",
            params={"guild_id": guild_id},
            json={"name": name},
            reason=reason,
        )

    def list_channels(self, guild_id: str) -> list[dict[str, Any]]:
        return self.request("GET", "/guilds/{guild_id}/channels", params={"guild_id": guild_id})

    def create_channel(
        self,
        guild_id: str,
        *,
        name: str,
        type: int = 0,
        topic: str | None = None,
        parent_id: str | None = None,
        permission_overwrites: list[dict[str, Any]] | None = None,
        reason: str = "",
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "type": type}
        if topic is not None:
            body["topic"] = topic
        if parent_id is not None:
            body["parent_id"] = parent_id
        if permission_overwrites is not None:
            body["permission_overwrites"] = permission_overwrites
        return self.request(
            "POST",
            "/guilds/{guild_id}/channels",
            params={"guild_id": guild_id},
            json=body,
            reason=reason,
        )

    def edit_channel_permission(
        self,
        channel_id: str,
        overwrite_id: str,
        *,
        type: int,
        allow: int,
        deny: int,
        reason: str = "",
    ) -> None:
        self.request(
            "PUT",
            "/channels/{channel_id}/permissions/{overwrite_id}",
            params={"channel_id": channel_id, "overwrite_id": overwrite_id},
            json={"type": type, "allow": allow, "deny": deny},
            reason=reason,
        )

    def list_roles(self, guild_id: str) -> list[dict[str, Any]]:
        return self.request("GET", "/guilds/{guild_id}/roles", params={"guild_id": guild_id})

    def create_role(
        self,
        guild_id: str,
        *,
        name: str,
        permissions: int = 0,
        mentionable: bool = True,
        reason: str = "",
    ) -> dict[str, Any]:
        return self.request(
            "POST",
            "/guilds/{guild_id}/roles",
            params={"guild_id": guild_id},
            # Integers, as Discord's OpenAPI description types them (responses carry strings).
            json={"name": name, "permissions": permissions, "mentionable": mentionable},
            reason=reason,
        )

    # -- invites (the roster sync: people join through links) ---------------------------------
    def create_invite(
        self,
        channel_id: str,
        *,
        role_ids: Sequence[str] = (),
        max_age: int = 0,
        max_uses: int = 0,
        unique: bool = True,
        reason: str = "",
    ) -> dict[str, Any]:
        """An invite link to the channel that gives ``role_ids`` on joining: 1 write.
        ``max_age`` 0 never expires, ``max_uses`` 0 is unlimited; ``unique`` makes a new code
        even when a similar invite exists.

        Not repeated after a transient failure (a POST): a crash may leave an invite made but
        not recorded, so look first with :meth:`list_guild_invites` (same channel and roles).
        """
        body: dict[str, Any] = {"max_age": max_age, "max_uses": max_uses, "unique": unique}
        if role_ids:
            body["role_ids"] = list(role_ids)
        return self.request(
            "POST",
            "/channels/{channel_id}/invites",
            params={"channel_id": channel_id},
            json=body,
            reason=reason,
        )

    def list_guild_invites(self, guild_id: str) -> list[dict[str, Any]]:
        """Every live invite of the server (1 read, MANAGE_GUILD): ``code``, ``channel``,
        ``roles`` (the ``role_ids`` it gives), ``max_age``, ``max_uses``, ``uses``."""
        return self.request("GET", "/guilds/{guild_id}/invites", params={"guild_id": guild_id})

    def delete_invite(self, code: str, *, reason: str = "") -> bool:
        """Revoke an invite link by its code (1 write; MANAGE_CHANNELS on its channel, or
        MANAGE_GUILD): nobody joins through it any more. True when deleted; False when Discord
        no longer knows the code (10006 Unknown Invite: deleted before, expired or used up).

        Idempotent for the caller, unlike the other deletes (no ``_if_present`` twin): the one
        use is a link superseded by a new one, where "already gone" is the wanted outcome, and
        a run repeated after a crash must not fail on it. A DELETE has an absolute effect, so it
        is repeated after a transient failure; a repeat that finds the code gone answers False.
        """
        return _deleted(
            lambda: self.request("DELETE", "/invites/{code}", params={"code": code}, reason=reason),
            UNKNOWN_INVITE,
        )

    # -- the calls of operations: archive, unarchive, tear down, verify, repair ---------------
    # Deleting is idempotent for the caller: each ``..._if_present`` answers False when the
    # object is already gone (its own "Unknown ..." code), so a run that crashed between a
    # delete and its record succeeds when it tries again. Any other 404 (Unknown Guild: the bot
    # was removed from the server) is raised: the object may well still exist.
    def get_channel(self, channel_id: str) -> dict[str, Any]:
        """One channel with its ``permission_overwrites``; NotFoundError (10003) when deleted."""
        return self.request("GET", "/channels/{channel_id}", params={"channel_id": channel_id})

    def edit_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        permission_overwrites: list[dict[str, Any]] | None = None,
        reason: str = "",
    ) -> dict[str, Any]:
        """Rename a channel and/or replace its WHOLE list of overwrites, in one PATCH.

        The values are absolute (overwrites left out of the list are removed), so the call gives
        the same channel however often it is sent: it is repeated after a transient failure.
        Overwrites are ``{id, type, allow, deny}`` with integer bit fields.
        """
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if permission_overwrites is not None:
            body["permission_overwrites"] = permission_overwrites
        if not body:
            raise ValueError("edit_channel needs a name or permission_overwrites")
        return self.request(
            "PATCH",
            "/channels/{channel_id}",
            params={"channel_id": channel_id},
            json=body,
            reason=reason,
            repeatable=True,
        )

    def delete_channel(self, channel_id: str, *, reason: str = "") -> dict[str, Any]:
        """Delete a channel; Discord answers with the deleted channel. NotFoundError when gone."""
        return self.request(
            "DELETE", "/channels/{channel_id}", params={"channel_id": channel_id}, reason=reason
        )

    def delete_channel_if_present(self, channel_id: str, *, reason: str = "") -> bool:
        """Delete a channel; False when it was already gone (10003 Unknown Channel)."""
        return _deleted(lambda: self.delete_channel(channel_id, reason=reason), UNKNOWN_CHANNEL)

    def delete_channel_permission(
        self, channel_id: str, overwrite_id: str, *, reason: str = ""
    ) -> None:
        """Remove one overwrite (a role's or a member's) from a channel."""
        self.request(
            "DELETE",
            "/channels/{channel_id}/permissions/{overwrite_id}",
            params={"channel_id": channel_id, "overwrite_id": overwrite_id},
            reason=reason,
        )

    def delete_channel_permission_if_present(
        self, channel_id: str, overwrite_id: str, *, reason: str = ""
    ) -> bool:
        """Remove one overwrite; False when the channel had none for it (10009 Unknown
        Overwrite). A channel that is gone altogether (10003) is raised: that is drift."""
        return _deleted(
            lambda: self.delete_channel_permission(channel_id, overwrite_id, reason=reason),
            UNKNOWN_OVERWRITE,
        )

    def delete_role(self, guild_id: str, role_id: str, *, reason: str = "") -> None:
        """Delete a role (Discord drops it from members and from every channel's overwrites)."""
        self.request(
            "DELETE",
            "/guilds/{guild_id}/roles/{role_id}",
            params={"guild_id": guild_id, "role_id": role_id},
            reason=reason,
        )

    def delete_role_if_present(self, guild_id: str, role_id: str, *, reason: str = "") -> bool:
        """Delete a role; False when it was already gone (10011 Unknown Role)."""
        return _deleted(lambda: self.delete_role(guild_id, role_id, reason=reason), UNKNOWN_ROLE)


UNKNOWN_CHANNEL, UNKNOWN_OVERWRITE, UNKNOWN_INVITE, UNKNOWN_ROLE = 10003, 10009, 10006, 10011


def _deleted(delete: Callable[[], Any], gone_code: int) -> bool:
    """True when ``delete`` deleted; False when Discord says the object is already gone."""
    try:
        delete()
    except NotFoundError as exc:
        if exc.code != gone_code:
            raise
        return False
    return True


def _json(response: requests.Response) -> Any:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if data is not None else {}


def _retry_after_seconds(response: requests.Response) -> float:
    """The 429's wait; a second when Discord gave none we can read."""
    try:
        seconds = parse_retry_after(response.headers, _json(response))
    except ValueError:
        return 1.0
    return 1.0 if seconds is None else seconds
