"""One error shape for the whole API: ``{statusCode, error, message, details}``.

Domain errors raised by the services are mapped to HTTP here, and only here, so that views stay
thin and a new error type needs one line.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from api.authentication import HEADER as API_KEY_HEADER
from audit.models import SystemEvent
from audit.services import system_event_record
from courses.services import CourseConflictError
from provisioning.services import CourseBusyError, NothingToRetryError

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"

    def __init__(self, detail: str, details: Any = None) -> None:
        super().__init__(detail)
        self.details = details


class UnprocessableEntity(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


class LimitExceeded(exceptions.Throttled):
    """A 429 whose message says which limit was hit (DRF's says only "throttled")."""

    def __init__(self, message: str, wait: float) -> None:
        super().__init__(wait=wait)
        self.detail = exceptions.ErrorDetail(message, code="throttled")


class TooManyFailedAuthentications(exceptions.Throttled):
    """A 429 for an address that sent too many wrong or revoked keys (API_AUTH_FAILURE_RATE)."""

    def __init__(self, wait: float) -> None:
        super().__init__(wait=wait)
        self.detail = exceptions.ErrorDetail(
            "Too many requests with a wrong or revoked API key from this address "
            f"(at most {settings.API_AUTH_FAILURE_RATE}, API_AUTH_FAILURE_RATE); "
            f"retry in {math.ceil(wait)} seconds.",
            code="throttled",
        )


def camel_case(name: str) -> str:
    """``lab_groups`` -> ``labGroups``; ``__all__`` (errors of the whole object) -> ``body``."""
    if name == "__all__":
        return "body"
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


BODY = "body"  # where problems of the body as a whole go: null, not an object, ...
NON_FIELD_KEYS = ("non_field_errors", "__all__")


def field_errors(detail: Any, path: str = "") -> dict[str, list[str]]:
    """Any tree of validation errors as ``{field path: [messages]}``: the one ``details`` shape.

    Nested fields are dotted paths (``labGroups.0.number``), whatever DRF or a service nested
    them as (objects keyed by index, lists of objects); errors of a whole object are filed under
    the object's own path, and those of the whole body under ``body``.
    """
    errors: dict[str, list[str]] = {}

    def add(into: str, messages: list[str]) -> None:
        errors.setdefault(into or BODY, []).extend(messages)

    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = str(key)
            child = path if name in NON_FIELD_KEYS else f"{path}.{name}" if path else name
            for into, messages in field_errors(value, child).items():
                add(into, messages)
    elif isinstance(detail, list | tuple):
        if all(not isinstance(item, Mapping | list | tuple) for item in detail):
            add(path, [str(item) for item in detail])
        else:
            for index, item in enumerate(detail):
                if item:  # DRF lists an empty entry for each valid item
                    for into, messages in field_errors(
                        item, f"{path}.{index}" if path else str(index)
                    ).items():
                        add(into, messages)
    else:
        add(path, [str(detail)])
    return errors


def error_body(status_code: int, message: str, details: Any = None) -> dict[str, Any]:
    return {
        "statusCode": status_code,
        "error": HTTPStatus(status_code).phrase,
        "message": message,
        "details": details,
    }


def _translate(exc: Exception) -> Exception:
    """Domain and Django errors -> DRF exceptions carrying our message and details."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            # "lab_groups.1.name" -> "labGroups.1.name": the path of the value in the request.
            details = {camel_case(field): msgs for field, msgs in exc.message_dict.items()}
        else:
            details = {BODY: exc.messages}
        return exceptions.ValidationError(details)
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, CourseConflictError):  # same name, same repositories, same server
        return Conflict(str(exc), details={"existingId": str(exc.existing_id)})
    if isinstance(exc, CourseBusyError | NothingToRetryError):
        return Conflict(str(exc))
    return exc


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's ``EXCEPTION_HANDLER``: every error, expected or not, in the one shape."""
    exc = _translate(exc)
    response = exception_handler(exc, context)
    if response is None:  # a bug: log it with its traceback, answer without leaking it
        logger.error("unhandled error in %s", context.get("view"), exc_info=exc)
        set_rollback()
        return Response(
            error_body(500, "An unexpected error occurred; it has been logged."), status=500
        )
    if isinstance(exc, exceptions.ValidationError):
        details: Any = field_errors(exc.detail)
        lines = [
            f"{field}: {text.rstrip('.')}" for field, texts in details.items() for text in texts
        ]
        message = "Invalid request: " + "; ".join(lines) + "."
    else:
        details = getattr(exc, "details", None)
        detail = getattr(exc, "detail", "")  # DRF answered, so an APIException: it has one
        message = str(detail) if not isinstance(detail, list | dict) else str(exc)
        if isinstance(exc, exceptions.ParseError):  # malformed JSON: a problem of the body
            details = {BODY: [message]}
    if isinstance(exc, exceptions.NotAuthenticated):
        message = f"Missing API key: send it in the {API_KEY_HEADER} header."
    if isinstance(exc, LimitExceeded):
        # Recorded here, after the view's transaction was rolled back, so that it stays.
        request = context.get("request")
        system_event_record(
            kind=SystemEvent.Kind.CONCURRENCY_LIMIT,
            message=str(exc.detail),
            api_key=getattr(getattr(request, "auth", None), "name", ""),
        )
    if isinstance(exc, exceptions.Throttled) and not isinstance(
        exc, LimitExceeded | TooManyFailedAuthentications
    ):
        message = (
            f"Request rate limit exceeded ({settings.API_THROTTLE_RATE} per API key); "
            f"retry in {response.headers.get('Retry-After', 'a few')} seconds."
        )
    response.data = error_body(response.status_code, message, details)
    return response


def json_error(status_code: int, message: str) -> JsonResponse:
    """The same shape outside DRF: Django's 404/500 handlers for API paths."""
    return JsonResponse(error_body(status_code, message), status=status_code)
