"""GitHub's primary (per hour) and secondary (content-creating requests) rate limits.

The primary limit is the one clients see in the ``x-ratelimit-*`` headers of every answer. The
secondary limit is undocumented in numbers on GitHub's side ("no more than 80 content-generating
requests per minute"); here it is a sliding window set through ``options["secondary_limit"]`` so
benchmarks can show how a client paces its writes.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

HOUR = 3600


@dataclass
class PrimaryLimit:
    """A fixed one-hour window starting at the first request after the previous one ended."""

    limit: int
    used: int = 0
    reset_at: int = 0

    def _roll(self, now: float) -> None:
        if now >= self.reset_at:
            self.used = 0
            self.reset_at = int(now) + HOUR

    def exhausted(self, now: float) -> bool:
        self._roll(now)
        return self.used >= self.limit

    def spend(self, now: float) -> None:
        self._roll(now)
        self.used += 1

    def headers(self, now: float, resource: str = "core") -> dict[str, str]:
        self._roll(now)
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(max(0, self.limit - self.used)),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-reset": str(self.reset_at),
            "x-ratelimit-resource": resource,
        }

    def as_dict(self, now: float) -> dict[str, int]:
        self._roll(now)
        return {
            "limit": self.limit,
            "used": self.used,
            "remaining": max(0, self.limit - self.used),
            "reset": self.reset_at,
        }


@dataclass
class SecondaryLimit:
    """At most ``requests`` content-creating requests in any ``window`` seconds."""

    requests: int
    window: float
    stamps: deque[float] = field(default_factory=deque)

    def retry_after(self, now: float) -> int | None:
        """Seconds until a slot frees (≥ 1), or None when the request may go ahead."""
        while self.stamps and self.stamps[0] <= now - self.window:
            self.stamps.popleft()
        if len(self.stamps) < self.requests:
            return None
        return max(1, math.ceil(self.stamps[0] + self.window - now))

    def record(self, now: float) -> None:
        self.stamps.append(now)


def parse_primary(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("primary_limit must be a positive integer (requests per hour)")
    return value


def parse_secondary(value: Any) -> SecondaryLimit | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"requests", "window"}:
        raise ValueError('secondary_limit must be null or {"requests": N, "window": seconds}')
    requests, window = value.get("requests"), value.get("window", 60)
    if isinstance(requests, bool) or not isinstance(requests, int) or requests < 1:
        raise ValueError("secondary_limit.requests must be a positive integer")
    if isinstance(window, bool) or not isinstance(window, int | float) or window <= 0:
        raise ValueError("secondary_limit.window must be a positive number of seconds")
    return SecondaryLimit(requests=requests, window=float(window))


def clock() -> float:
    """Wall-clock time: the reset header is an epoch, and windows are short enough for it."""
    return time.time()
