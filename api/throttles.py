"""Request throttling per API key (per staff user for session requests, per address otherwise)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from api.authentication import request_api_key


class ApiKeyRateThrottle(SimpleRateThrottle):
    """``API_THROTTLE_RATE`` requests per period and client, e.g. ``600/min``.

    The counts live in Django's default cache: per process with the default local-memory cache,
    shared between processes when CACHES points at Redis or Memcached.
    """

    scope = "api_key"

    def get_rate(self) -> str | None:
        # Read at each request (not frozen at import like DRF's THROTTLE_RATES), so that tests and
        # operators can change it; an empty value switches throttling off.
        return settings.API_THROTTLE_RATE or None

    def get_cache_key(self, request: Request, view: Any) -> str:
        api_key = request_api_key(request)
        if api_key is not None:
            ident = f"key-{api_key.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"addr-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
