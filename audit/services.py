"""Writing the audit trail."""

from __future__ import annotations

import logging
from typing import Any

from audit.context import current_audit_context
from audit.models import AuditLog, SystemEvent
from audit.redaction import redact, redact_text

EXCERPT_CHARS = 2000
logger = logging.getLogger("provisioning.events")


def audit_log_record(
    *,
    provider: str,
    method: str,
    route: str,
    url: str,
    request_body: Any,
    response_status: int | None,
    response_text: str,
    duration_ms: float,
    error: str = "",
) -> AuditLog:
    """Append one row for one HTTP request actually sent, in the current audit context."""
    context = current_audit_context()
    return AuditLog.objects.create(
        provider=provider,
        method=method.upper(),
        route=route[:200],
        url=redact_text(url)[:1000],
        request_body=redact(request_body),
        response_status=response_status,
        response_excerpt=redact_text(response_text or "")[:EXCERPT_CHARS],
        duration_ms=max(0, round(duration_ms)),
        error=redact_text(error)[:2000],
        course_id=context.course_id,
        step=context.step,
        attempt=context.attempt,
        task_id=context.task_id,
    )


def system_event_record(
    *,
    kind: str,
    message: str,
    course_id: Any = None,
    severity: str = SystemEvent.Severity.WARNING,
    **data: Any,
) -> SystemEvent:
    """Record an event for operators, and log it (one structured line)."""
    message = redact_text(message)
    data = redact(data)
    logger.log(
        logging.ERROR if severity == SystemEvent.Severity.ERROR else logging.WARNING,
        message,
        extra={"event": kind, "course_id": str(course_id) if course_id else None, **data},
    )
    return SystemEvent.objects.create(
        kind=kind, severity=severity, message=message, course_id=course_id, data=data
    )
