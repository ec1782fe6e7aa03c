"""The produce deadline of awaited records: one sweep for all of them (produce_deadlines.py)."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaTimeoutError

from headwater.streams.produce_deadlines import ProduceDeadlines


async def test_a_record_not_acknowledged_by_its_deadline_fails_within_a_tick() -> None:
    deadlines = ProduceDeadlines(0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    late, acknowledged = loop.create_future(), loop.create_future()
    deadlines.watch(acknowledged, deadlines.start())
    deadlines.watch(late, deadlines.start())
    acknowledged.set_result("offset 1")
    with pytest.raises(KafkaTimeoutError):
        await late
    waited = loop.time() - started
    assert 0.3 <= waited <= 0.3 + ProduceDeadlines.TICK + 0.2, waited
    assert acknowledged.result() == "offset 1"  # an acknowledged record is left alone
    await asyncio.sleep(ProduceDeadlines.TICK * 2)
    assert deadlines._timer is None and not deadlines._pending  # nothing left: no sweeping


async def test_acknowledged_records_leave_the_queue_and_later_ones_keep_their_deadline() -> None:
    deadlines = ProduceDeadlines(0.6)
    loop = asyncio.get_running_loop()
    first = [loop.create_future() for _ in range(3)]
    for future in first:
        deadlines.watch(future, deadlines.start())
    await asyncio.sleep(0.3)
    later = loop.create_future()
    deadlines.watch(later, deadlines.start())
    for future in first:
        future.set_result(None)
    await asyncio.sleep(0.6)  # past the first records' deadline, before the later one's
    assert not later.done()
    assert [d for d, _ in deadlines._pending] and len(deadlines._pending) == 1
    with pytest.raises(KafkaTimeoutError):
        await later
