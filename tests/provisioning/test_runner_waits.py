"""A run that waits (backoff, a platform's retry-after) keeps proving it is alive, so that a
wait longer than the lease is not taken for a dead run."""

from __future__ import annotations

import pytest

from provisioning import runner


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class CountingLease:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.beats: list[float] = []

    def heartbeat(self) -> None:
        self.beats.append(self.clock.now)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(runner, "time", fake)
    return fake


def test_a_wait_longer_than_the_lease_heartbeats_every_third_of_it(clock, settings):
    settings.PROVISIONING_LEASE_SECONDS = 180
    lease = CountingLease(clock)

    runner._sleep_holding(lease, 3600)  # type: ignore[arg-type]  # GitHub's primary reset

    assert clock.now == pytest.approx(3600)
    gaps = [later - earlier for earlier, later in zip(lease.beats, lease.beats[1:], strict=False)]
    assert max(gaps) <= 60  # never silent for more than a third of the lease
    assert lease.beats[0] == 0 and lease.beats[-1] == pytest.approx(3600)


def test_a_short_wait_is_one_sleep(clock, settings):
    settings.PROVISIONING_LEASE_SECONDS = 180
    lease = CountingLease(clock)

    runner._sleep_holding(lease, 2.5)  # type: ignore[arg-type]

    assert clock.sleeps == [2.5]
