"""Rate limits shared by every worker: in Redis when there is one, in-process otherwise.

A platform's limits are per token (GitHub) or per bot (Discord), not per process, so the state
lives where every worker sees it. Three primitives cover both platforms:

- :meth:`LimitStore.reserve`: pace requests to budgets such as "70 per 60 s and 450 per hour,
  at least 1 s apart". It books the earliest slot that keeps every window under its limit and
  says how long to wait for it; booking ahead keeps workers from stampeding when a slot frees.
- :meth:`LimitStore.bucket_take` / :meth:`LimitStore.bucket_update`: Discord's buckets, learnt
  from response headers (remaining, reset-after), spent one request at a time.
- :meth:`LimitStore.pause` / :meth:`LimitStore.paused_for`: "everybody wait N seconds", after a
  429 with ``global``, a GitHub secondary-limit answer or an exhausted primary limit.
- :meth:`LimitStore.budget_left`: what is left of a budget and how many wait for it, read
  without booking anything (``/metrics``).
- :meth:`LimitStore.queue_reserve` (driven by :func:`take_turn`): the same pacing as ``reserve``,
  but a slot goes to the best-ranked caller waiting for one (highest priority first, then the
  oldest course), so courses finish one after another instead of all sharing the budget and all
  finishing late. Only a slot about to come is booked: a course that comes back for its next
  write a moment later still finds it free.

Waits are returned, never slept here (but for :func:`take_turn`'s short looks at its queue): the
client sleeps a short wait and turns a long one into a
:class:`~integrations.errors.RateLimitedError`, so the task is re-scheduled instead of holding a
worker for minutes.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Protocol, TypeVar, cast

from django.conf import settings

from integrations.errors import RateLimitedError, TransientError

T = TypeVar("T")

Window = tuple[int, float]  # (limit, seconds)


@dataclass(frozen=True)
class BudgetLeft:
    """A budget as it stands: requests left in each window (in the order the windows were given;
    a slot booked ahead counts as spent) and callers queued for a slot (:func:`take_turn`)."""

    remaining: tuple[int, ...]
    waiting: int


class LimitStore(Protocol):
    def reserve(
        self, key: str, windows: Sequence[Window], spacing: float, horizon: float
    ) -> float: ...

    def bucket_take(self, key: str) -> float: ...

    def bucket_update(self, key: str, remaining: int, reset_after: float) -> None: ...

    def pause(self, key: str, seconds: float) -> None: ...

    def paused_for(self, key: str) -> float: ...

    def remember(self, key: str, value: str) -> None: ...

    def recall(self, key: str) -> str | None: ...

    def queue_reserve(
        self,
        key: str,
        windows: Sequence[Window],
        spacing: float,
        *,
        waiter: str,
        rank: float,
        lookahead: float,
        alive: float,
    ) -> tuple[float, bool]: ...

    def queue_leave(self, key: str, waiter: str) -> None: ...

    def budget_left(self, key: str, windows: Sequence[Window]) -> BudgetLeft: ...


def earliest_slot(
    booked: list[float], now: float, windows: Sequence[Window], spacing: float
) -> float:
    """The first time >= now at which one more request keeps every window under its limit.

    ``booked`` holds the times of requests sent or booked, oldest first. A window (L, W) admits a
    request at t when fewer than L booked times lie in (t - W, t]: so t must come at least W after
    the L-th most recent booking.
    """
    slot = now
    if booked and spacing:
        slot = max(slot, booked[-1] + spacing)
    for limit, seconds in windows:
        if len(booked) >= limit:
            slot = max(slot, booked[-limit] + seconds)
    return slot


class LocalStore:
    """One process's limits: the embedded default, where nothing else shares the token."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._booked: dict[str, list[float]] = {}
        self._buckets: dict[str, tuple[int, float]] = {}
        self._paused: dict[str, float] = {}
        self._values: dict[str, str] = {}
        self._queues: dict[str, dict[str, tuple[float, float]]] = {}  # waiter: (rank, expiry)

    def reserve(self, key: str, windows: Sequence[Window], spacing: float, horizon: float) -> float:
        now = time.time()
        longest = max((seconds for _, seconds in windows), default=spacing)
        with self._lock:
            booked = [t for t in self._booked.get(key, []) if t > now - longest]
            slot = earliest_slot(booked, now, windows, spacing)
            if slot - now <= horizon:
                booked.append(slot)
            self._booked[key] = booked
        return slot - now

    def bucket_take(self, key: str) -> float:
        now = time.time()
        with self._lock:
            remaining, reset_at = self._buckets.get(key, (1, 0.0))
            if reset_at <= now:
                return 0.0  # unknown or refilled: the answer's headers will tell
            if remaining > 0:
                self._buckets[key] = (remaining - 1, reset_at)
                return 0.0
            return reset_at - now

    def bucket_update(self, key: str, remaining: int, reset_after: float) -> None:
        with self._lock:
            self._buckets[key] = (remaining, time.time() + reset_after)

    def pause(self, key: str, seconds: float) -> None:
        with self._lock:
            self._paused[key] = max(self._paused.get(key, 0.0), time.time() + seconds)

    def paused_for(self, key: str) -> float:
        with self._lock:
            return max(0.0, self._paused.get(key, 0.0) - time.time())

    def remember(self, key: str, value: str) -> None:
        with self._lock:
            self._values[key] = value

    def recall(self, key: str) -> str | None:
        with self._lock:
            return self._values.get(key)

    def queue_reserve(
        self,
        key: str,
        windows: Sequence[Window],
        spacing: float,
        *,
        waiter: str,
        rank: float,
        lookahead: float,
        alive: float,
    ) -> tuple[float, bool]:
        now = time.time()
        longest = max((seconds for _, seconds in windows), default=spacing)
        with self._lock:
            queue = {w: v for w, v in self._queues.get(key, {}).items() if v[1] > now}
            queue[waiter] = (rank, now + alive)
            booked = [t for t in self._booked.get(key, []) if t > now - longest]
            slot = earliest_slot(booked, now, windows, spacing)
            first = min(queue, key=lambda w: (queue[w][0], w))
            granted = first == waiter and slot - now <= lookahead
            if granted:
                booked.append(slot)
                del queue[waiter]
            self._booked[key] = booked
            self._queues[key] = queue
        return slot - now, granted

    def queue_leave(self, key: str, waiter: str) -> None:
        with self._lock:
            self._queues.get(key, {}).pop(waiter, None)

    def budget_left(self, key: str, windows: Sequence[Window]) -> BudgetLeft:
        now = time.time()
        with self._lock:
            booked = list(self._booked.get(key, []))
            waiting = sum(1 for _, expiry in self._queues.get(key, {}).values() if expiry > now)
        remaining = tuple(
            max(0, limit - sum(1 for t in booked if t > now - seconds))
            for limit, seconds in windows
        )
        return BudgetLeft(remaining, waiting)


# Sliding windows on a sorted set of booked times; one script, so the check and the booking are
# atomic across workers. ARGV: now, spacing, horizon, ttl, then pairs of (limit, seconds).
_RESERVE = """
local now = tonumber(ARGV[1])
local spacing = tonumber(ARGV[2])
local horizon = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
local slot = now
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] and spacing > 0 then slot = math.max(slot, tonumber(last[2]) + spacing) end
for i = 5, #ARGV, 2 do
  local limit = tonumber(ARGV[i])
  local seconds = tonumber(ARGV[i + 1])
  local nth = redis.call('ZRANGE', KEYS[1], -limit, -limit, 'WITHSCORES')
  if nth[2] and redis.call('ZCARD', KEYS[1]) >= limit then
    slot = math.max(slot, tonumber(nth[2]) + seconds)
  end
end
if slot - now <= horizon then
  redis.call('ZADD', KEYS[1], slot, string.format('%.6f-%d', slot, redis.call('INCR', KEYS[2])))
  redis.call('EXPIRE', KEYS[1], math.ceil(ttl + horizon))
  redis.call('EXPIRE', KEYS[2], math.ceil(ttl + horizon))
end
return tostring(slot - now)
"""

# The queue of waiters is a sorted set by rank, beside a sorted set of when each one stops
# counting (a waiter that died is dropped once it has not asked again for ``alive`` seconds).
# KEYS: booked, seq, queue, alive. ARGV: now, spacing, lookahead, ttl, waiter, rank, alive, then
# pairs of (limit, seconds). Returns {seconds to the earliest free slot, 1 if booked for waiter}.
_QUEUE_RESERVE = """
local now = tonumber(ARGV[1])
local spacing = tonumber(ARGV[2])
local lookahead = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local waiter = ARGV[5]
local alive = tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
local dead = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)
for _, member in ipairs(dead) do
  redis.call('ZREM', KEYS[3], member)
  redis.call('ZREM', KEYS[4], member)
end
redis.call('ZADD', KEYS[3], tonumber(ARGV[6]), waiter)
redis.call('ZADD', KEYS[4], now + alive, waiter)
redis.call('EXPIRE', KEYS[3], math.ceil(alive + 1))
redis.call('EXPIRE', KEYS[4], math.ceil(alive + 1))
local slot = now
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] and spacing > 0 then slot = math.max(slot, tonumber(last[2]) + spacing) end
for i = 8, #ARGV, 2 do
  local limit = tonumber(ARGV[i])
  local seconds = tonumber(ARGV[i + 1])
  local nth = redis.call('ZRANGE', KEYS[1], -limit, -limit, 'WITHSCORES')
  if nth[2] and redis.call('ZCARD', KEYS[1]) >= limit then
    slot = math.max(slot, tonumber(nth[2]) + seconds)
  end
end
local granted = 0
if redis.call('ZRANGE', KEYS[3], 0, 0)[1] == waiter and slot - now <= lookahead then
  redis.call('ZADD', KEYS[1], slot, string.format('%.6f-%d', slot, redis.call('INCR', KEYS[2])))
  redis.call('EXPIRE', KEYS[1], math.ceil(ttl + lookahead))
  redis.call('EXPIRE', KEYS[2], math.ceil(ttl + lookahead))
  redis.call('ZREM', KEYS[3], waiter)
  redis.call('ZREM', KEYS[4], waiter)
  granted = 1
end
return {tostring(slot - now), granted}
"""

_BUCKET_TAKE = """
local now = tonumber(ARGV[1])
local state = redis.call('HMGET', KEYS[1], 'remaining', 'reset_at')
local reset_at = tonumber(state[2])
if not reset_at or reset_at <= now then return '0' end
local remaining = tonumber(state[1])
if remaining > 0 then
  redis.call('HINCRBY', KEYS[1], 'remaining', -1)
  return '0'
end
return tostring(reset_at - now)
"""


def _transient(method: Callable[..., T]) -> Callable[..., T]:
    """Redis unreachable is a passing fault: the step is retried, not failed as a bug."""

    @functools.wraps(method)
    def wrapper(*args: object, **kwargs: object) -> T:
        import redis

        try:
            return method(*args, **kwargs)
        except redis.RedisError as exc:
            raise TransientError(f"rate-limit store unavailable: {exc}") from exc

    return wrapper


class RedisStore:
    """Limits shared by every worker through Redis."""

    def __init__(self, url: str, prefix: str = "ratelimit:") -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = prefix
        self._reserve = self.redis.register_script(_RESERVE)
        self._bucket_take = self.redis.register_script(_BUCKET_TAKE)
        self._queue_reserve = self.redis.register_script(_QUEUE_RESERVE)

    def _get(self, name: str) -> bytes | None:
        # redis-py types answers for its asyncio client too; this client is synchronous.
        return cast("bytes | None", self.redis.get(name))

    @_transient
    def reserve(self, key: str, windows: Sequence[Window], spacing: float, horizon: float) -> float:
        ttl = max([seconds for _, seconds in windows] + [spacing, 1.0])
        args: list[float] = [time.time(), spacing, horizon, ttl]
        for limit, seconds in windows:
            args += [limit, seconds]
        keys = [self.prefix + key, self.prefix + key + ":seq"]
        return float(self._reserve(keys=keys, args=args))

    @_transient
    def bucket_take(self, key: str) -> float:
        return float(self._bucket_take(keys=[self.prefix + key], args=[time.time()]))

    @_transient
    def bucket_update(self, key: str, remaining: int, reset_after: float) -> None:
        name = self.prefix + key
        pipe = self.redis.pipeline()
        pipe.hset(name, mapping={"remaining": remaining, "reset_at": time.time() + reset_after})
        pipe.expire(name, max(1, int(reset_after) + 60))
        pipe.execute()

    @_transient
    def pause(self, key: str, seconds: float) -> None:
        until = time.time() + seconds
        name = self.prefix + "pause:" + key
        current = self._get(name)
        if current is None or float(current) < until:
            self.redis.set(name, until, ex=max(1, int(seconds) + 1))

    @_transient
    def paused_for(self, key: str) -> float:
        value = self._get(self.prefix + "pause:" + key)
        return max(0.0, float(value) - time.time()) if value is not None else 0.0

    @_transient
    def remember(self, key: str, value: str) -> None:
        self.redis.set(self.prefix + "value:" + key, value, ex=24 * 3600)

    @_transient
    def recall(self, key: str) -> str | None:
        value = self._get(self.prefix + "value:" + key)
        return value.decode() if value is not None else None

    @_transient
    def queue_reserve(
        self,
        key: str,
        windows: Sequence[Window],
        spacing: float,
        *,
        waiter: str,
        rank: float,
        lookahead: float,
        alive: float,
    ) -> tuple[float, bool]:
        ttl = max([seconds for _, seconds in windows] + [spacing, 1.0])
        args: list[float | str] = [time.time(), spacing, lookahead, ttl, waiter, rank, alive]
        for limit, seconds in windows:
            args += [limit, seconds]
        name = self.prefix + key
        keys = [name, name + ":seq", name + ":queue", name + ":alive"]
        wait, granted = self._queue_reserve(keys=keys, args=args)
        return float(wait), bool(granted)

    @_transient
    def queue_leave(self, key: str, waiter: str) -> None:
        name = self.prefix + key
        pipe = self.redis.pipeline()
        pipe.zrem(name + ":queue", waiter)
        pipe.zrem(name + ":alive", waiter)
        pipe.execute()

    @_transient
    def budget_left(self, key: str, windows: Sequence[Window]) -> BudgetLeft:
        # Counts only (ZCOUNT), no script: nothing is booked or dropped by a look.
        now = time.time()
        name = self.prefix + key
        pipe = self.redis.pipeline(transaction=False)
        for _, seconds in windows:
            pipe.zcount(name, f"({now - seconds}", "+inf")
        pipe.zcount(name + ":alive", f"({now}", "+inf")
        *spent, waiting = pipe.execute()
        remaining = tuple(
            max(0, limit - int(used)) for (limit, _), used in zip(windows, spent, strict=True)
        )
        return BudgetLeft(remaining, int(waiting))


@cache
def _store_for(url: str) -> LimitStore:
    return RedisStore(url) if url else LocalStore()


def limit_store() -> LimitStore:
    """The store every client of this process uses (Redis when RATE_LIMIT_REDIS_URL is set)."""
    return _store_for(settings.RATE_LIMIT_REDIS_URL)


def token_key(token: str) -> str:
    """Limits are per credential; keys carry a digest of it, never the secret itself."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def parse_windows(text: str) -> list[Window]:
    """``"70/60,450/3600"`` → ``[(70, 60.0), (450, 3600.0)]``."""
    windows = []
    for part in filter(None, (item.strip() for item in text.split(","))):
        limit, _, seconds = part.partition("/")
        windows.append((int(limit), float(seconds)))
    return windows


# -- whose turn: the queue for a shared budget -------------------------------------------------
PRIORITY_ORDER = {"high": 0, "normal": 1, "low": 2}  # Course.priority, most urgent first
# Seconds: only a slot this close is booked, so that the best-ranked course, back from the reads
# between two of its writes, still finds the next one free (keep it under the writes' spacing).
QUEUE_LOOKAHEAD = 0.15
QUEUE_POLL = (0.05, 1.0)  # seconds between two looks at the queue, at least and at most
QUEUE_ALIVE = 5.0  # seconds a waiter that stopped asking (a dead worker) keeps its place
QUEUE_HEARTBEAT = 5.0  # seconds between two calls of ``on_wait`` while queued


@dataclass(frozen=True)
class Turn:
    """Where a caller stands in the queue for a shared budget: the lower ``rank``, the sooner."""

    rank: float
    label: str = ""


def turn_rank(*, priority: str = "normal", since: datetime | float) -> float:
    """Priority first, then age: a high-priority course goes before every normal one, and among
    equals the oldest goes first. One float, so Redis can sort it: the priority adds 1e10 s
    (three centuries) per level, far beyond any difference of creation times."""
    stamp = since.timestamp() if isinstance(since, datetime) else since
    return PRIORITY_ORDER.get(priority, PRIORITY_ORDER["normal"]) * 1e10 + stamp


_turn: ContextVar[Turn | None] = ContextVar("ratelimit_turn", default=None)


@contextlib.contextmanager
def turn_scope(
    *, priority: str = "normal", since: datetime | float, label: str = ""
) -> Iterator[Turn]:
    """Within the block, budget queues rank this caller by ``priority`` and ``since`` (the
    runner sets it per course: its priority and creation time, so a re-scheduled course keeps
    its place)."""
    turn = Turn(turn_rank(priority=priority, since=since), label)
    token = _turn.set(turn)
    try:
        yield turn
    finally:
        _turn.reset(token)


def current_turn() -> Turn:
    """The caller's turn; one without a scope (a command, a check) ranks by now, behind every
    course already waiting."""
    return _turn.get() or Turn(turn_rank(since=time.time()))


def take_turn(
    store: LimitStore,
    key: str,
    windows: Sequence[Window],
    spacing: float,
    *,
    max_wait: float,
    provider: str,
    on_wait: Callable[[], None] = lambda: None,
    sleep: Callable[[float], None] = time.sleep,
    turn: Turn | None = None,
) -> float:
    """Wait in ``key``'s queue until a slot of the budget is booked for this caller; return the
    seconds left until that slot (the caller sleeps them).

    Waiting is sleeping between looks at the queue (no CPU spent, no database lock held), with
    ``on_wait`` (the runner's heartbeat) every few seconds. Raises :class:`RateLimitedError` when
    the budget itself has no slot within ``max_wait`` (every caller is re-scheduled), or when
    this caller has queued ``max_wait`` already: it gives its worker back and, re-scheduled,
    finds its place again, since its rank comes from its course, not from when it asked.
    """
    turn = turn or current_turn()
    waiter = f"{turn.label}:{uuid.uuid4().hex}"
    started = last_beat = time.monotonic()
    granted = False
    try:
        while True:
            wait, granted = store.queue_reserve(
                key,
                windows,
                spacing,
                waiter=waiter,
                rank=turn.rank,
                lookahead=QUEUE_LOOKAHEAD,
                alive=QUEUE_ALIVE,
            )
            if granted:
                return wait
            waited = time.monotonic() - started
            if wait > max_wait or waited > max_wait:
                raise RateLimitedError(
                    f"{provider} write budget: next slot in {wait:.0f}s, "
                    f"queued {waited:.0f}s behind older courses",
                    provider=provider,
                    retry_after=max(wait, waited),
                )
            if time.monotonic() - last_beat >= QUEUE_HEARTBEAT:
                on_wait()
                last_beat = time.monotonic()
            low, high = QUEUE_POLL
            sleep(min(max(wait - QUEUE_LOOKAHEAD, low), high))
    finally:
        if not granted:
            with contextlib.suppress(TransientError):
                store.queue_leave(key, waiter)
