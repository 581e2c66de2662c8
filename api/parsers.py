"""Request bodies: JSON (and the CSV parsers built on ``bounded_body``), bounded in size, never a
500 whatever the bytes."""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class RequestTimeout(exceptions.APIException):
    status_code = status.HTTP_408_REQUEST_TIMEOUT
    default_detail = "The request body did not arrive in time."
    default_code = "request_timeout"


def bounded_body(stream: Any, parser_context: Any = None) -> bytes:
    """A request body of at most ``API_MAX_BODY_BYTES`` (413 beyond), or a 408 when the client
    stops sending: what every parser of the API reads, whatever the format."""
    limit = settings.API_MAX_BODY_BYTES
    request = (parser_context or {}).get("request")
    announced = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
    if announced.isdigit() and int(announced) > limit:  # refused before a byte is read
        raise PayloadTooLarge(f"The request body exceeds {limit} bytes.")
    try:
        # Read one byte past the limit rather than trusting Content-Length alone.
        body: bytes = stream.read(limit + 1) if stream is not None else b""
    except OSError:  # the client stopped sending (gunicorn's socket timeout) or went away
        raise RequestTimeout(
            "The request body did not arrive in time: send it at once, with a "
            "Content-Length that matches it."
        ) from None
    if len(body) > limit:
        raise PayloadTooLarge(f"The request body exceeds {limit} bytes.")
    return body


class BoundedJSONParser(JSONParser):
    """JSON of at most ``API_MAX_BODY_BYTES``; malformed input of any kind is a 400."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        body = bounded_body(stream, parser_context)
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except LookupError:  # "application/json; charset=nonsense"
            raise exceptions.ParseError("Unknown charset in Content-Type.") from None
        except RecursionError:  # thousands of nested brackets
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None
