"""Request bodies the API refuses before any view runs."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from api.exceptions import json_error
from api.views import is_api_path


class ChunkedBodyMiddleware:
    """Refuse ``Transfer-Encoding: chunked`` on API paths with a 411 in the error shape.

    Django reads a body by its Content-Length; without one (a chunked body) it would read
    nothing, and a POST would be validated as if empty ("every field is required"). Saying
    "send Content-Length" is honest; a JSON body of at most API_MAX_BODY_BYTES needs no streaming.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        encoding = request.META.get("HTTP_TRANSFER_ENCODING", "")
        if "chunked" in encoding.lower() and is_api_path(request.path):
            response = json_error(
                411,
                "Chunked request bodies are not accepted: send the body with a Content-Length.",
            )
            response["Connection"] = "close"  # the unread chunks must not be taken as a request
            return response
        return self.get_response(request)
