"""Discord's rate limits: per-route buckets (per major parameter) and a global limit per bot.

Like Discord, the ``X-RateLimit-Bucket`` hash names the *route* (method and template); its
counters are kept per major parameter (``guild_id``, ``channel_id``), so two guilds never share a
window even though their buckets carry the same hash ("non-inclusive of top-level resources in
the path", Discord's docs say). A client that keys its own bookkeeping on (bucket, major
parameter) is right here and on Discord.

Windows are fixed: the first request of a window starts it, ``limit`` requests fit in it, and it
ends ``window`` seconds later. Refused requests do not count.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from sandbox.http import Response

MAJOR_PARAMETERS = ("guild_id", "channel_id", "webhook_id")
RATE_LIMITED_MESSAGE = "You are being rate limited."


def bucket_hash(method: str, template: str) -> str:
    """An opaque, stable id for a route, shaped like Discord's (32 hex digits)."""
    return hashlib.sha256(f"{method} {template}".encode()).hexdigest()[:32]


def major_parameter(params: dict[str, str]) -> str:
    for name in MAJOR_PARAMETERS:
        if name in params:
            return params[name]
    return ""


@dataclass
class _Window:
    reset_at: float = 0.0
    count: int = 0

    def roll(self, now: float, length: float) -> None:
        if now >= self.reset_at:
            self.reset_at = now + length
            self.count = 0


@dataclass
class Refusal:
    retry_after: float
    is_global: bool
    bucket: str


class RateLimiter:
    """Counts requests per (bucket, major parameter) and globally; decides who gets a 429."""

    def __init__(self, limit: int = 50, window: float = 1.0, global_limit: int = 50) -> None:
        self.limit = limit
        self.window = window
        self.global_limit = global_limit
        self._buckets: dict[tuple[str, str], _Window] = {}
        self._global = _Window()

    def configure(self, limit: int, window: float, global_limit: int) -> None:
        self.limit, self.window, self.global_limit = limit, window, global_limit

    def acquire(self, bucket: str, major: str, now: float) -> Refusal | None:
        """Count one request, or say why it must be refused (it then has no effect)."""
        self._global.roll(now, 1.0)
        if self._global.count >= self.global_limit:
            return Refusal(self._global.reset_at - now, True, bucket)
        window = self._buckets.setdefault((bucket, major), _Window())
        window.roll(now, self.window)
        if window.count >= self.limit:
            return Refusal(window.reset_at - now, False, bucket)
        self._global.count += 1
        window.count += 1
        return None

    def headers(self, bucket: str, major: str, now: float) -> dict[str, str]:
        window = self._buckets.get((bucket, major))
        if window is None or now >= window.reset_at:
            remaining, reset_at = self.limit, now + self.window
        else:
            remaining, reset_at = max(0, self.limit - window.count), window.reset_at
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{reset_at:.3f}",
            "X-RateLimit-Reset-After": f"{max(0.0, reset_at - now):.3f}",
            "X-RateLimit-Bucket": bucket,
        }


def too_many_requests(retry_after: float, is_global: bool, headers: dict[str, str]) -> Response:
    """Discord's 429: the body has the precise delay, ``Retry-After`` whole seconds (rounded up)."""
    retry_after = max(0.001, round(retry_after, 3))
    body: dict[str, Any] = {
        "message": RATE_LIMITED_MESSAGE,
        "retry_after": retry_after,
        "global": is_global,
        "code": 0,  # the description's Error schema requires a code; Discord sends 0 here
    }
    out = {
        **headers,
        "Retry-After": str(max(1, math.ceil(retry_after))),
        "X-RateLimit-Scope": "global" if is_global else "user",
    }
    if is_global:
        out["X-RateLimit-Global"] = "true"
    return Response(429, body, out)
