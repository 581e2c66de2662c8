"""Request throttling per API key (per staff user for session requests, per address otherwise),
and of failed authentications per client address.

Counts live in the Redis the workers share (so a rate holds across gunicorn workers and hosts).
When that Redis is down the counts fall back to this process's memory, with a warning event:
throttling gets looser (per worker) for a while, but it never switches itself off.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, cache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from api.authentication import request_api_key
from audit.models import SystemEvent
from audit.services import system_event_record

logger = logging.getLogger(__name__)

# Where counts go while the shared store is down: this process only.
FALLBACK = LocMemCache("api-throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})
# At most one warning event per process and this many seconds while the store stays down.
FALLBACK_EVENT_INTERVAL = 60.0
_last_fallback_event = 0.0


@functools.cache
def _redis_cache(url: str) -> RedisCache:
    return RedisCache(
        url,
        {
            "KEY_PREFIX": "api-throttle",
            # A slow Redis must not slow every request down: give up fast, count in-process.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    )


def throttle_cache() -> BaseCache:
    """Where request counts live: the Redis that workers share their rate limits in
    (``RATE_LIMIT_REDIS_URL``, by default the broker's) so that the rate holds across gunicorn
    workers and hosts; without one, Django's default cache (per process)."""
    url = getattr(settings, "RATE_LIMIT_REDIS_URL", "")
    return _redis_cache(url) if url else cache


def _store_down(exc: Exception) -> None:
    """Log, and record a warning event at most once a minute per process."""
    global _last_fallback_event
    logger.warning("API throttle store failed, counting in-process meanwhile: %s", exc)
    now = time.monotonic()
    if _last_fallback_event and now - _last_fallback_event < FALLBACK_EVENT_INTERVAL:
        return
    _last_fallback_event = now
    try:
        system_event_record(
            kind=SystemEvent.Kind.THROTTLE_STORE_DOWN,
            message=(
                "The API throttle's store (Redis) is unreachable: requests are counted in each "
                f"worker's memory until it is back ({exc.__class__.__name__})."
            ),
        )
    except Exception:  # the database may be what is down: the log line above stays
        logger.exception("could not record the throttle-store event")


class FallbackRateThrottle(SimpleRateThrottle):
    """A DRF throttle whose counts move to process memory while the shared store is down."""

    # Set by SimpleRateThrottle.__init__ from the rate; absent from DRF's stubs.
    num_requests: int
    duration: int

    def __init__(self) -> None:
        self.cache = throttle_cache()
        super().__init__()

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            _store_down(exc)
            self.cache = FALLBACK
            return super().allow_request(request, view)


class ApiKeyRateThrottle(FallbackRateThrottle):
    """``API_THROTTLE_RATE`` requests per period and client, e.g. ``600/min``."""

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


class FailedAuthThrottle(FallbackRateThrottle):
    """``API_AUTH_FAILURE_RATE`` wrong or revoked keys per period and client address.

    Unlike a request throttle it counts only failures (``record_failure``), and it is checked
    before a key is looked up, so a client guessing keys is stopped whatever it sends next.
    """

    scope = "auth_failure"

    def get_rate(self) -> str | None:
        return settings.API_AUTH_FAILURE_RATE or None

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def blocked(self, request: Any) -> float | None:
        """Seconds to wait when this address is past its failures, else None."""
        if self.rate is None:
            return None
        try:
            return self._blocked(request)
        except (RedisError, OSError) as exc:
            _store_down(exc)
            self.cache = FALLBACK
            return self._blocked(request)

    def _blocked(self, request: Any) -> float | None:
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]
        if len(self.history) < self.num_requests:
            return None
        return self.wait() or float(self.duration)

    def record_failure(self, request: Any) -> None:
        if self.rate is None:
            return
        try:
            self._blocked(request)
            self.throttle_success()  # adds this failure to the history
        except (RedisError, OSError) as exc:
            _store_down(exc)
            self.cache = FALLBACK
            self._blocked(request)
            self.throttle_success()
