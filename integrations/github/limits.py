"""GitHub's limits, obeyed by every worker sharing a token.

- Content-creating requests (every method but GET) are paced to ``GITHUB_WRITE_BUDGET`` (by
  default 70 a minute and 450 an hour, under GitHub's published 80 and 500) and spaced
  ``GITHUB_SECONDS_BETWEEN_WRITES`` apart, as GitHub asks. Each slot goes to the best-ranked
  course waiting for one (:func:`~integrations.ratelimit.take_turn`: priority, then age).
- Budgets are per ``key``: the client passes one derived from its credential; a caller with
  several (an organization's installation) builds one ``GitHubLimits`` per key.
- A secondary-limit answer (403/429 with ``retry-after``) pauses the token for that long; an
  exhausted primary limit (``x-ratelimit-remaining: 0``) pauses it until ``x-ratelimit-reset``.

A wait up to ``max_wait`` is slept; a longer one raises :class:`RateLimitedError`, and the task is
re-scheduled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from audit.context import current_audit_context
from audit.models import SystemEvent
from audit.services import system_event_record
from integrations.errors import RateLimitedError
from integrations.ratelimit import BudgetLeft, LimitStore, Window, take_turn
from integrations.transport import parse_reset_after, parse_retry_after


def writes_key(key: str) -> str:
    """Where the writes of the budget ``key`` (a token's or an installation's) are booked."""
    return f"{key}:writes"


def write_budget_left(store: LimitStore, key: str, windows: Sequence[Window]) -> BudgetLeft:
    """What is left of the budget ``key``'s writes, read without booking (``/metrics``)."""
    return store.budget_left(writes_key(key), windows)


@dataclass
class GitHubLimits:
    store: LimitStore
    key: str  # one budget per key: derived from the token, or an installation / organization
    write_windows: Sequence[Window]
    write_spacing: float
    max_wait: float
    on_wait: Callable[[], None] = lambda: None  # before every sleep: the runner's heartbeat

    def before(self, method: str) -> None:
        wait = self.store.paused_for(self.key)
        if wait > self.max_wait:
            raise RateLimitedError(
                f"GitHub rate limit: next request in {wait:.0f}s",
                provider="github",
                retry_after=wait,
            )
        if wait > 0:
            self.on_wait()
            time.sleep(wait)
        if method == "GET":
            return
        # Writes share one budget per key; the slot goes to the highest-priority (then oldest)
        # course waiting for one, so courses complete one after another (take_turn).
        wait = take_turn(
            self.store,
            writes_key(self.key),
            self.write_windows,
            self.write_spacing,
            max_wait=self.max_wait,
            provider="github",
            on_wait=self.on_wait,
        )
        if wait > 0:
            time.sleep(wait)

    def after(self, status: int, headers: Mapping[str, str]) -> None:
        refused = status in (403, 429)
        try:
            asked = parse_retry_after(headers, minimum=1.0) if refused else None
            if asked is not None:
                self._paused(asked, "secondary")
            elif (until_reset := parse_reset_after(headers, minimum=1.0)) is not None:
                self._paused(until_reset, "primary", refused=refused)
        except ValueError:
            pass  # a malformed header: the error itself still reaches the caller

    def _paused(self, seconds: float, limit: str, refused: bool = True) -> None:
        """Pause the token for every worker; when GitHub refused the request, tell the operators:
        our pacing should have kept this from happening (a budget too high, or another client on
        the same token)."""
        self.store.pause(self.key, seconds)
        if not refused:
            return
        context = current_audit_context()
        system_event_record(
            kind=SystemEvent.Kind.RATE_LIMITED,
            message=f"GitHub answered with its {limit} rate limit; the token is paused "
            f"{seconds:.0f}s for every worker. Lower GITHUB_WRITE_BUDGET if this repeats.",
            course_id=context.course_id,
            limit=limit,
            seconds=round(seconds),
        )
