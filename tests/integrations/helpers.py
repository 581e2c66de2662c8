"""Helpers of the client unit tests: reading the audit trail."""

from __future__ import annotations

import json

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
