"""The tests' wait for a bridge's new run after a configuration change (tests/support/
bridges.py ``connected``) must not race with the bridge process: the process may have
restarted the bridge before the wait starts (in CI the MQTT bridge test once waited 30 s
for a restart that had already happened)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from headwater.bridges.pipeline import BridgeStats
from tests.support.bridges import connected


def _run(state: str = "connected") -> BridgeStats:
    return BridgeStats("mqtt", "mqtt://127.0.0.1:1883", state=state)


async def test_a_restart_done_before_the_wait_starts_is_seen() -> None:
    first = _run()
    process = SimpleNamespace(stats={"b1": first})
    process.stats["b1"] = _run()  # the process applied the change at once
    await connected(process, "b1", replacing=first, timeout=1)  # type: ignore[arg-type]


async def test_the_first_run_is_not_taken_for_the_new_one() -> None:
    first = _run()
    process = SimpleNamespace(stats={"b1": first})
    with pytest.raises(AssertionError, match="not met"):
        await connected(process, "b1", replacing=first, timeout=0.3)  # type: ignore[arg-type]
    process.stats["b1"] = _run("reconnecting")  # the new run, not connected yet
    with pytest.raises(AssertionError, match="not met"):
        await connected(process, "b1", replacing=first, timeout=0.3)  # type: ignore[arg-type]
