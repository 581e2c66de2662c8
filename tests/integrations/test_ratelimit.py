"""Shared rate limits: the same behaviour in-process and in Redis (the latter in CI)."""

from __future__ import annotations

import os
import threading
import uuid

import pytest

from integrations import ratelimit
from integrations.errors import TransientError
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
