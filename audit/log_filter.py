"""The logging filter that puts the audit context on every log record.

It lives here, with the context it reads, so that the settings (config.logging builds LOGGING)
name it by dotted path instead of importing an app: configuration stays below the apps.
"""

from __future__ import annotations

import logging

from audit.context import current_audit_context
from config.logging import request_id


class ContextFilter(logging.Filter):
    """Attach course_id, step, attempt, task_id and request_id to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_audit_context()
        if not getattr(record, "course_id", None):
            record.course_id = str(context.course_id) if context.course_id else None
        record.step = getattr(record, "step", None) or context.step or None
        record.attempt = getattr(record, "attempt", None) or context.attempt
        record.task_id = getattr(record, "task_id", None) or context.task_id or None
        # django.request logs a 4xx/5xx after the middleware reset the context: use its request.
        request = getattr(record, "request", None)
        record.request_id = request_id.get() or getattr(request, "request_id", None) or None
        return True
