"""One error shape for the whole API: ``{statusCode, error, message, details}``.

Domain errors raised by the services are mapped to HTTP here, and only here, so that views stay
thin and a new error type needs one line.
"""

from __future__ import annotations

import logging
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
from courses.services import CourseAlreadyExistsError
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


def camel_case(name: str) -> str:
    """``lab_groups`` -> ``labGroups``; ``__all__`` (errors of the whole object) -> ``body``."""
    if name == "__all__":
        return "body"
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _plain(detail: Any) -> Any:
    """DRF's ErrorDetail tree as plain JSON: strings, lists and objects."""
    if isinstance(detail, Mapping):
        return {str(key): _plain(value) for key, value in detail.items()}
    if isinstance(detail, list | tuple):
        return [_plain(item) for item in detail]
    return str(detail)


def _flatten(details: Any, path: str = "") -> list[str]:
    """``{"labGroups": [{"number": ["bad"]}]}`` -> ``["labGroups[0].number: bad"]``."""
    if isinstance(details, Mapping):
        lines: list[str] = []
        for key, value in details.items():
            lines += _flatten(value, f"{path}.{key}" if path else str(key))
        return lines
    if isinstance(details, list):
        if all(isinstance(item, str) for item in details):
            return [f"{path}: {item}" if path else item for item in details]
        lines = []
        for index, item in enumerate(details):
            if item:
                lines += _flatten(item, f"{path}[{index}]")
        return lines
    return [f"{path}: {details}" if path else str(details)]


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
            details = {camel_case(field): msgs for field, msgs in exc.message_dict.items()}
        else:
            details = {"body": exc.messages}
        return exceptions.ValidationError(details)
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, CourseAlreadyExistsError):
        return Conflict(
            f"A course with this name and semester already exists: {exc.existing_id}.",
            details={"existingId": str(exc.existing_id)},
        )
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
        details = _plain(exc.detail)
        if not isinstance(details, dict):
            details = {"body": details}
        lines = [line.rstrip(".") for line in _flatten(details)]
        message = "Invalid request: " + "; ".join(lines) + "."
    else:
        details = getattr(exc, "details", None)
        message = str(exc.detail) if not isinstance(exc.detail, list | dict) else str(exc)
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
    if isinstance(exc, exceptions.Throttled) and not isinstance(exc, LimitExceeded):
        message = (
            f"Request rate limit exceeded ({settings.API_THROTTLE_RATE} per API key); "
            f"retry in {response.headers.get('Retry-After', 'a few')} seconds."
        )
    response.data = error_body(response.status_code, message, details)
    return response


def json_error(status_code: int, message: str) -> JsonResponse:
    """The same shape outside DRF: Django's 404/500 handlers for API paths."""
    return JsonResponse(error_body(status_code, message), status=status_code)
