"""The import's events/s cap: it sleeps so that events sent never run ahead of the rate
(a fake clock: what it asks to sleep is what the cap allows)."""

from __future__ import annotations

import pytest

from headwater.commands.imports.run import _Throttle


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_the_cap_paces_events_to_the_rate() -> None:
    clock = FakeClock()
    throttle = _Throttle(1000.0, clock, clock.sleep)
    for _ in range(500):
        await throttle.take(4)  # 2,000 events at 1,000/s: two seconds
    assert sum(clock.slept) == pytest.approx(2.0)
    assert clock.now == pytest.approx(102.0)


async def test_no_cap_never_sleeps() -> None:
    clock = FakeClock()
    throttle = _Throttle(None, clock, clock.sleep)
    for _ in range(100):
        await throttle.take(100)
    assert clock.slept == []
