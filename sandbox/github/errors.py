"""GitHub's error bodies and the request-validation helpers that produce them.

Every error is ``{"message", "documentation_url", "status": "NNN"}`` (plus ``errors`` for
validation failures), the shape GitHub answers today; clients branch on the status and the message.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from sandbox.core import HttpError
from sandbox.http import BadJson, Request, Response

DOCS = "https://docs.github.com/rest"
DOCS_REPOS = "https://docs.github.com/rest/repos/repos"
DOCS_BRANCHES = "https://docs.github.com/rest/branches/branches"
DOCS_PROTECTION = "https://docs.github.com/rest/branches/branch-protection"
DOCS_GIT = "https://docs.github.com/rest/git"
DOCS_CONTENTS = "https://docs.github.com/rest/repos/contents"
DOCS_RATE = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
DOCS_SECONDARY = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/"
    "rate-limits-for-the-rest-api#about-secondary-rate-limits"
)


def error_response(
    status: int,
    message: str,
    docs: str = DOCS,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"message": message}
    if errors is not None:
        body["errors"] = errors
    body["documentation_url"] = docs
    body["status"] = str(status)
    return Response(status, body, dict(headers or {}))


def fail(
    status: int,
    message: str,
    docs: str = DOCS,
    errors: list[dict[str, Any]] | None = None,
) -> NoReturn:
    raise HttpError(error_response(status, message, docs, errors))


def not_found(docs: str = DOCS) -> NoReturn:
    fail(404, "Not Found", docs)


def validation_failed(errors: list[dict[str, Any]], docs: str = DOCS) -> NoReturn:
    fail(422, "Validation Failed", docs, errors)


def body_object(request: Request, required: bool = False) -> dict[str, Any]:
    """The JSON body as an object; an empty body is ``{}``.

    GitHub answers 400 "Problems parsing JSON" for a body that is not JSON at all, and for a
    body that is JSON but not an object.
    """
    data = request.json()  # BadJson is turned into 400 by the dispatcher
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadJson("expected a JSON object")
    return data


def require_keys(body: dict[str, Any], keys: list[str], docs: str = DOCS) -> None:
    """422 ``Invalid request.\\n\\n"x" wasn't supplied.`` like GitHub's schema validator."""
    missing = [key for key in keys if key not in body]
    if not missing:
        return
    names = ", ".join(f'"{key}"' for key in missing)
    verb = "wasn't" if len(missing) == 1 else "weren't"
    fail(422, f"Invalid request.\n\n{names} {verb} supplied.", docs)


_TYPE_NAMES = {bool: "a boolean", str: "a string", int: "an integer", list: "an array"}
_TYPE_NAMES[dict] = "an object"


def check_type(
    body: dict[str, Any],
    key: str,
    kind: type,
    nullable: bool = False,
    docs: str = DOCS,
) -> None:
    """422 ``Invalid request.\\n\\nFor 'properties/x', 5 is not a string.`` for a wrong type."""
    if key not in body:
        return
    value = body[key]
    if value is None and nullable:
        return
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if ok:
        return
    wanted = _TYPE_NAMES.get(kind, kind.__name__)
    if nullable:
        wanted += " or null"
    shown = json.dumps(value)
    fail(422, f"Invalid request.\n\nFor 'properties/{key}', {shown} is not {wanted}.", docs)
