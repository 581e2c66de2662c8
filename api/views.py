"""Django-level error views: API paths answer in the API's error shape, others as Django does."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from api.exceptions import json_error

# The paths the API owns (the NestJS contract puts them at the root, beside /admin/).
API_PREFIXES = ("/courses", "/imports", "/health", "/api/", "/webhooks", "/metrics")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


@csrf_exempt  # a POST to an unknown API path is a 404, not a CSRF failure page
def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler404``, and the catch-all route under the API's prefixes (which works in DEBUG)."""
    if is_api_path(request.path):
        return json_error(404, f"No such resource: {request.path}")
    return defaults.page_not_found(request, exception or Exception())


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_path(request.path):
        return json_error(500, "An unexpected error occurred; it has been logged.")
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception, **kwargs: Any) -> HttpResponse:
    if is_api_path(request.path):
        return json_error(400, "Bad request.")
    return defaults.bad_request(request, exception)
