"""Structured logs: one JSON object per line in production, readable lines in development.

Every record carries the course, step, attempt and Celery task it was written for (from the
audit context the runner sets, added by ``audit.log_filter.ContextFilter``) and the HTTP request
id (from :class:`RequestIdMiddleware`), so one course's story can be followed across web and
worker logs with a single filter.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

request_id: ContextVar[str] = ContextVar("request_id", default="")
REQUEST_ID_PATTERN = re.compile(r"[\x21-\x7e]{1,200}")

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


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
        # Visible ASCII only: the id is copied into every log line and sent back as a header.
        value = incoming if REQUEST_ID_PATTERN.fullmatch(incoming) else uuid.uuid4().hex
        # Also on the request: Django logs 4xx/5xx responses (django.request) after the
        # middleware returned and the context variable was reset; the filter finds it there.
        request.request_id = value  # type: ignore[attr-defined]
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
        # By dotted path: the filter reads the audit context, and settings import no app.
        "filters": {"context": {"()": "audit.log_filter.ContextFilter"}},
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
