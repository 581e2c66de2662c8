"""Shared rate limits: the same behaviour in-process and in Redis (the latter in CI)."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from integrations import ratelimit
from integrations.errors import RateLimitedError, TransientError
from integrations.ratelimit import LocalStore, RedisStore, earliest_slot, parse_windows


@pytest.fixture(params=["local", "redis"])
def store(request):
    if request.param == "local":
        return LocalStore()
    url = os.environ.get("E2E_BROKER_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("E2E_BROKER_URL (Redis) is required in CI")
        pytest.skip("set E2E_BROKER_URL to test the Redis store")
    return RedisStore(url, prefix=f"test-{uuid.uuid4().hex}:")


def test_earliest_slot_honours_every_window_and_the_spacing():
    windows = [(2, 10.0), (3, 60.0)]
    assert earliest_slot([], 100.0, windows, 0) == 100.0
    assert earliest_slot([99.0], 100.0, windows, 0) == 100.0
    assert earliest_slot([95.0, 99.0], 100.0, windows, 0) == 105.0  # 2 in 10 s
    assert earliest_slot([50.0, 95.0, 99.0], 100.0, windows, 0) == 110.0  # 3 in 60 s
    assert earliest_slot([99.5], 100.0, [], 1.0) == 100.5  # one second apart


def test_parse_windows():
    assert parse_windows("70/60, 450/3600") == [(70, 60.0), (450, 3600.0)]
    assert parse_windows("") == []


def test_reserve_books_slots_up_to_the_budget_then_says_how_long(store):
    key = "writes"
    waits = [store.reserve(key, [(3, 2.0)], 0, horizon=10) for _ in range(4)]
    assert waits[:3] == [pytest.approx(0, abs=0.05)] * 3
    assert waits[3] == pytest.approx(2.0, abs=0.1)  # booked two seconds ahead


def test_reserve_beyond_the_horizon_books_nothing(store):
    store.reserve("w", [(1, 30.0)], 0, horizon=60)
    assert store.reserve("w", [(1, 30.0)], 0, horizon=5) == pytest.approx(30, abs=0.1)
    # not booked: asking again gives the same answer, not a later one
    assert store.reserve("w", [(1, 30.0)], 0, horizon=5) == pytest.approx(30, abs=0.1)


def test_concurrent_workers_never_exceed_the_budget(store):
    waits: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(10):
            wait = store.reserve("shared", [(5, 60.0)], 0, horizon=0.5)
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(wait <= 0.5 for wait in waits) == 5  # exactly the budget got a slot


def test_buckets_are_spent_then_refill(store, monkeypatch):
    assert store.bucket_take("b") == 0  # unknown: go and learn from the headers
    store.bucket_update("b", 1, 0.5)
    assert store.bucket_take("b") == 0
    assert store.bucket_take("b") == pytest.approx(0.5, abs=0.1)
    store.bucket_update("b", 0, 0.0)
    assert store.bucket_take("b") == 0  # reset passed


def test_pause_is_shared_and_only_grows(store):
    assert store.paused_for("token") == 0
    store.pause("token", 5)
    store.pause("token", 1)
    assert store.paused_for("token") == pytest.approx(5, abs=0.2)


def test_remember_and_recall(store):
    assert store.recall("route") is None
    store.remember("route", "abc")
    assert store.recall("route") == "abc"


def test_the_store_follows_the_setting(settings):
    settings.RATE_LIMIT_REDIS_URL = ""
    assert isinstance(ratelimit.limit_store(), LocalStore)
    assert ratelimit.limit_store() is ratelimit.limit_store()


def test_an_unreachable_redis_is_a_transient_error():
    store = RedisStore("redis://127.0.0.1:1/0")  # nothing listens on port 1
    with pytest.raises(TransientError, match="rate-limit store unavailable"):
        store.reserve("k", [(1, 1.0)], 0, horizon=1)


def test_budget_left_is_read_without_booking(store):
    """What /metrics shows: writes left per window (a slot booked ahead is spent) and who waits;
    looking books nothing."""
    windows = [(3, 2.0), (10, 60.0)]
    assert store.budget_left("b", windows) == ratelimit.BudgetLeft((3, 10), 0)
    store.reserve("b", windows, 0, horizon=10)
    store.reserve("b", windows, 0, horizon=10)
    for _ in range(3):
        assert store.budget_left("b", windows) == ratelimit.BudgetLeft((1, 8), 0)
    assert store.reserve("b", windows, 0, horizon=10) == pytest.approx(0, abs=0.05)
    # The budget is spent for 2 s: a caller queues for the next slot.
    assert not store.queue_reserve("b", windows, 0, waiter="w", rank=0, lookahead=0.1, alive=5)[1]
    assert store.budget_left("b", windows) == ratelimit.BudgetLeft((0, 7), 1)
    store.queue_leave("b", "w")
    assert store.budget_left("b", windows).waiting == 0


# -- the queue: the highest-priority (then oldest) course gets the next slot -------------------
def ask(store, waiter, rank, alive=5.0):
    return store.queue_reserve(
        "q", [(1, 0.6)], 0, waiter=waiter, rank=rank, lookahead=0.25, alive=alive
    )


def test_the_next_slot_goes_to_the_best_ranked_waiter_not_the_first_to_ask(store):
    assert ask(store, "first", 5.0)[1]  # a free budget: booked at once
    assert not ask(store, "young", 200.0)[1]  # the next slot is 0.6 s away: nobody books it
    assert not ask(store, "old", 100.0)[1]
    time.sleep(0.45)  # the slot is now within the look-ahead
    wait, granted = ask(store, "young", 200.0)
    assert not granted and wait < 0.25  # it is near, but "old" is ahead
    assert ask(store, "old", 100.0)[1]
    assert not ask(store, "young", 200.0)[1]  # the slot after: 0.6 s later


def test_a_waiter_that_stops_asking_loses_its_place(store):
    assert ask(store, "first", 0.0)[1]
    assert not ask(store, "dead", 1.0, alive=0.9)[1]  # ranked first, then never asks again
    time.sleep(0.65)  # the budget's window is over: a slot is free
    assert not ask(store, "alive", 2.0)[1]  # "dead" still counts
    time.sleep(0.35)
    assert ask(store, "alive", 2.0)[1]  # expired: it no longer blocks anybody


def test_a_waiter_that_leaves_makes_way_at_once(store):
    assert ask(store, "first", 0.0)[1]
    assert not ask(store, "gone", 1.0)[1]
    time.sleep(0.65)
    assert not ask(store, "next", 2.0)[1]
    store.queue_leave("q", "gone")
    assert ask(store, "next", 2.0)[1]


def test_take_turn_serves_courses_by_priority_then_age_whoever_asked_first(store):
    order: list[str] = []
    lock = threading.Lock()
    key, windows, spacing = "turns", [(100, 60.0)], 0.3
    assert ratelimit.take_turn(store, key, windows, spacing, max_wait=10, provider="github") == 0

    def course(label: str, priority: str, since: float) -> None:
        turn = ratelimit.Turn(ratelimit.turn_rank(priority=priority, since=since), label)
        wait = ratelimit.take_turn(
            store, key, windows, spacing, max_wait=10, provider="github", turn=turn
        )
        with lock:
            order.append(label)
        time.sleep(wait)

    threads = []
    # They ask youngest first; the slots go high priority first, then oldest first.
    for label, priority, since in [
        ("young", "normal", 300.0),
        ("low-oldest", "low", 1.0),
        ("old", "normal", 200.0),
        ("urgent-youngest", "high", 400.0),
    ]:
        threads.append(threading.Thread(target=course, args=(label, priority, since)))
        threads[-1].start()
        time.sleep(0.02)
    for thread in threads:
        thread.join()
    assert order == ["urgent-youngest", "old", "young", "low-oldest"]


def test_take_turn_sleeps_between_looks_and_beats_the_heart(store, monkeypatch):
    monkeypatch.setattr(ratelimit, "QUEUE_HEARTBEAT", 0.0)
    store.queue_reserve("h", [(1, 1.0)], 0, waiter="x", rank=0, lookahead=1, alive=5)
    store.queue_leave("h", "x")
    sleeps: list[float] = []
    beats: list[int] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    wait = ratelimit.take_turn(
        store, "h", [(1, 1.0)], 0, max_wait=5, provider="github",
        on_wait=lambda: beats.append(1), sleep=sleep,
    )  # fmt: skip
    assert wait <= ratelimit.QUEUE_LOOKAHEAD
    # about 0.75 s of waiting in a few sleeps, never a busy loop
    assert 1 <= len(sleeps) <= 20 and all(s >= ratelimit.QUEUE_POLL[0] for s in sleeps)
    assert beats


def test_take_turn_gives_up_past_max_wait_and_leaves_the_queue(store):
    store.queue_reserve("m", [(1, 30.0)], 0, waiter="x", rank=0, lookahead=1, alive=5)
    store.queue_leave("m", "x")
    with pytest.raises(RateLimitedError) as raised:
        ratelimit.take_turn(store, "m", [(1, 30.0)], 0, max_wait=5, provider="github")
    assert raised.value.retry_after == pytest.approx(30, abs=0.5)
    # queued behind a better-ranked waiter for longer than max_wait
    store.queue_reserve("n", [(1, 0.5)], 0, waiter="a", rank=0, lookahead=1, alive=5)
    store.queue_reserve("n", [(1, 0.5)], 0, waiter="ahead", rank=0, lookahead=0, alive=5)
    late = ratelimit.Turn(rank=10.0, label="late")
    with pytest.raises(RateLimitedError):
        ratelimit.take_turn(store, "n", [(1, 0.5)], 0, max_wait=0.6, provider="github", turn=late)
    store.queue_leave("n", "ahead")
    assert store.queue_reserve("n", [(1, 0.5)], 0, waiter="other", rank=20.0, lookahead=1, alive=5)[
        1
    ]  # "late" left: the next waiter is not behind a ghost


def test_a_caller_without_a_turn_ranks_behind_courses_already_waiting():
    with ratelimit.turn_scope(priority="low", since=1000.0, label="c1") as turn:
        assert ratelimit.current_turn() == turn
        assert turn.rank == 2e10 + 1000.0
    assert ratelimit.current_turn().rank == pytest.approx(1e10 + time.time(), abs=5)
