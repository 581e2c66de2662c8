"""Helpers of the client tests: reading the audit trail, a port where nothing answers."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from audit.models import AuditLog


def audit_rows() -> list[AuditLog]:
    """The audit rows in the order the requests were sent."""
    return list(AuditLog.objects.order_by("id"))


def assert_secret_absent(secret: str) -> None:
    """No field of any audit row carries ``secret``."""
    rows = audit_rows()
    assert rows, "the test made no audited request"
    for row in rows:
        fields = {
            "method": row.method,
            "route": row.route,
            "url": row.url,
            "request_body": json.dumps(row.request_body),
            "response_excerpt": row.response_excerpt,
            "error": row.error,
            "step": row.step,
            "task_id": row.task_id,
        }
        for name, value in fields.items():
            assert secret not in value, f"{name} of audit row {row.pk} leaks the token: {value!r}"


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, so nobody else takes it, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
