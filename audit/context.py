"""Who is calling: the course, step, attempt and task an external call is made for.

The runner sets it around each step; the clients read it when they write an audit row. A
context variable keeps the clients free of provisioning concepts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class AuditContext:
    course_id: Any = None
    step: str = ""
    attempt: int | None = None
    task_id: str = ""


# AuditContext is frozen, so sharing one default instance is safe.
_current: ContextVar[AuditContext] = ContextVar(
    "audit_context",
    default=AuditContext(),  # noqa: B039
)


def current_audit_context() -> AuditContext:
    return _current.get()


@contextlib.contextmanager
def audit_scope(**fields: Any) -> Iterator[AuditContext]:
    """Within the block, audit rows carry ``fields`` (merged over the enclosing scope)."""
    context = replace(_current.get(), **fields)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)
