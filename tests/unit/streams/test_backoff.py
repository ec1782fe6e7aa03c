"""The one back-off every retry loop uses: 0.2 s doubling up to the cap, reset after a
success, and the next delay readable for the log line before the wait."""

from __future__ import annotations

import pytest

from headwater.streams import backoff as backoff_module
from headwater.streams.backoff import Backoff


async def test_doubles_up_to_the_cap_and_starts_over_after_reset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(backoff_module.asyncio, "sleep", sleep)
    backoff = Backoff(cap=1.0)
    announced = []
    for _ in range(5):
        announced.append(backoff.next_delay)
        await backoff.wait()
    backoff.reset()
    announced.append(backoff.next_delay)
    await backoff.wait()
    assert slept == [0.2, 0.4, 0.8, 1.0, 1.0, 0.2]
    assert announced == slept
