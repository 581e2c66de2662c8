"""Request bodies for the API tests."""

from __future__ import annotations

from itertools import count
from typing import Any

_numbers = count(1)


def lecture_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": f"Algorithms {next(_numbers)}",
        "semester": "2026-fall",
        "type": "LECTURE",
        **overrides,
    }


def laboratory_body(groups: int = 2, **overrides: Any) -> dict[str, Any]:
    return {
        "name": f"Systems Lab {next(_numbers)}",
        "semester": "2026-fall",
        "type": "LABORATORY",
        "labGroups": [{"name": f"Group {n}", "number": n} for n in range(1, groups + 1)],
        **overrides,
    }


def assert_error(response: Any, status: int, *, contains: str = "") -> dict[str, Any]:
    """The one error shape, with the expected status and, optionally, words in the message."""
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"statusCode", "error", "message", "details"}, body
    assert body["statusCode"] == status
    assert body["error"] and isinstance(body["message"], str)
    assert contains in body["message"], body["message"]
    return body
