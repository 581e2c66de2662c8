"""Structured logs: one JSON object per line in production, readable lines in development.

Every record carries the course, step, attempt and Celery task it was written for (from the
audit context the runner sets) and the HTTP request id (from :class:`RequestIdMiddleware`), so
one course's story can be followed across web and worker logs with a single filter.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

from audit.context import current_audit_context

request_id: ContextVar[str] = ContextVar("request_id", default="")

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class ContextFilter(logging.Filter):
    """Attach course_id, step, attempt, task_id and request_id to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_audit_context()
        if not getattr(record, "course_id", None):
            record.course_id = str(context.course_id) if context.course_id else None
        record.step = getattr(record, "step", None) or context.step or None
        record.attempt = getattr(record, "attempt", None) or context.attempt
        record.task_id = getattr(record, "task_id", None) or context.task_id or None
        record.request_id = request_id.get() or None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class RequestIdMiddleware:
    """Take the caller's X-Request-ID (or make one), log with it, and send it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        value = incoming if 0 < len(incoming) <= 200 else uuid.uuid4().hex
        token = request_id.set(value)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response["X-Request-ID"] = value
        return response


def logging_config(*, json_lines: bool, level: str) -> dict:
    """The LOGGING setting: JSON lines, or plain text with the context at the end."""
    plain = "%(asctime)s %(levelname)s %(name)s %(message)s [course=%(course_id)s step=%(step)s]"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "config.logging.ContextFilter"}},
        "formatters": {
            "json": {"()": "config.logging.JsonFormatter"},
            "plain": {"format": plain},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if json_lines else "plain",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }
