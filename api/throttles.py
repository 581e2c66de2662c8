"""Request throttling per API key (per staff user for session requests, per address otherwise)."""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, cache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from api.authentication import request_api_key

logger = logging.getLogger(__name__)


@functools.cache
def _redis_cache(url: str) -> RedisCache:
    return RedisCache(
        url,
        {
            "KEY_PREFIX": "api-throttle",
            # A slow Redis must not slow every request down: give up fast, and let it through.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    )


def throttle_cache() -> BaseCache:
    """Where request counts live: the Redis that workers share their rate limits in
    (``RATE_LIMIT_REDIS_URL``, by default the broker's) so that the rate holds across gunicorn
    workers and hosts; without one, Django's default cache (per process)."""
    url = getattr(settings, "RATE_LIMIT_REDIS_URL", "")
    return _redis_cache(url) if url else cache


class ApiKeyRateThrottle(SimpleRateThrottle):
    """``API_THROTTLE_RATE`` requests per period and client, e.g. ``600/min``."""

    scope = "api_key"

    def __init__(self) -> None:
        self.cache = throttle_cache()
        super().__init__()

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

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:  # the counter store is down: serve, not fail all
            logger.warning("API throttle skipped, its store failed: %s", exc)
            return True
