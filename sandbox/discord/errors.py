"""Discord's error answers, as :class:`HttpError` to raise from handlers.

Shape: ``{"message": ..., "code": N}`` plus ``errors`` for 50035 Invalid Form Body, nested like
the request body (``{"parent_id": {"_errors": [{"code": ..., "message": ...}]}}``).
"""

from __future__ import annotations

from typing import Any

from sandbox.core import HttpError
from sandbox.discord.schema import FormError, discord_errors
from sandbox.http import Response


def discord_error(status: int, code: int, message: str, errors: Any = None) -> HttpError:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors is not None:
        body["errors"] = errors
    return HttpError(Response(status, body))


def unauthorized() -> Response:
    return Response(401, {"message": "401: Unauthorized", "code": 0})


def unknown_guild() -> HttpError:
    return discord_error(404, 10004, "Unknown Guild")


def unknown_channel() -> HttpError:
    return discord_error(404, 10003, "Unknown Channel")


def unknown_member() -> HttpError:
    return discord_error(404, 10007, "Unknown Member")


def unknown_role() -> HttpError:
    return discord_error(404, 10011, "Unknown Role")


def unknown_invite() -> HttpError:
    return discord_error(404, 10006, "Unknown Invite")


def invalid_role() -> HttpError:
    return discord_error(400, 50028, "Invalid Role")


def unknown_overwrite() -> HttpError:
    # Also what Discord answers when an overwrite's id is not a role/member of the declared type.
    return discord_error(404, 10009, "Unknown Overwrite")


def missing_access() -> HttpError:
    return discord_error(403, 50001, "Missing Access")


def missing_permissions() -> HttpError:
    return discord_error(403, 50013, "Missing Permissions")


def bots_cannot_use() -> HttpError:
    return discord_error(403, 20001, "Bots cannot use this endpoint")


def wrong_channel_type() -> HttpError:
    return discord_error(400, 50024, "Cannot execute action on this channel type")


def invalid_json() -> Response:
    return Response(400, {"message": "The request body contains invalid JSON.", "code": 50109})


def invalid_form(errors: list[FormError]) -> HttpError:
    return discord_error(400, 50035, "Invalid Form Body", discord_errors(errors))


def invalid_field(path: tuple[str | int, ...], code: str, message: str) -> HttpError:
    return invalid_form([FormError(path, code, message)])


def maximum_reached(code: int, what: str, limit: int) -> HttpError:
    return discord_error(400, code, f"Maximum number of {what} reached ({limit})")
