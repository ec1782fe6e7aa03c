"""A stage's batches (streams/batches.py ``take_batches``): the next batch fills while the
last one is handled, a batch is acked once the code handling it moves on, and a batch
given a future (``Batch.ack_when``) only once that future is done, however it ends.

The stream is a small stand-in for the part of Faust's ``Stream`` the generator uses:
records put in go through its processors from a background task (Faust's passive
mode), and acks are recorded."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest

from headwater.streams.batches import Batch, take_batches


class _Channel:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue()

    async def __aiter__(self) -> AsyncIterator[str]:
        while True:
            yield await self.queue.get()


class FakeStream:
    def __init__(self) -> None:
        self.channel = _Channel()
        # Faust's flow control, which would empty the queue when the flow resumes
        self.app = SimpleNamespace(flow_control=SimpleNamespace(_queues={self.channel.queue}))
        self.enable_acks = True
        self.should_stop = False
        self.current_event: str | None = None
        self._processors: list[Callable[[Any], Awaitable[Any]]] = []
        self.acked: list[str] = []
        self._delivery: asyncio.Task[None] | None = None

    def put(self, *records: str) -> None:
        for record in records:
            self.channel.queue.put_nowait(record)

    def add_processor(self, processor: Callable[[Any], Awaitable[Any]]) -> None:
        self._processors.append(processor)

    def _enable_passive(self, records: AsyncIterator[str]) -> None:
        self._delivery = asyncio.ensure_future(self._deliver(records))

    async def _deliver(self, records: AsyncIterator[str]) -> None:
        async for record in records:
            self.current_event = record
            for processor in list(self._processors):
                await processor(record)

    async def wait(self, event: asyncio.Event) -> None:
        await event.wait()

    async def wait_for_stopped(self, event: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def ack(self, event: str) -> None:
        self.acked.append(event)

    def stop(self) -> None:
        if self._delivery is not None:
            self._delivery.cancel()


@pytest.fixture
def stream() -> FakeStream:
    return FakeStream()


async def take(batches: AsyncIterator[Batch]) -> Batch:
    return await asyncio.wait_for(anext(batches), 5)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_the_next_batch_fills_while_the_last_is_handled(stream: FakeStream) -> None:
    batches = take_batches(stream, 3, within=0.05)
    stream.put("a", "b", "c", "d")
    first = await take(batches)
    assert first == ["a", "b", "c"]  # cut at max_, at once

    stream.put("e")  # arrives while the stage handles the first batch
    await _settle()
    assert stream.acked == []  # nothing acked while the batch is handled
    second = await take(batches)
    assert second == ["d", "e"]  # what came in meanwhile, ``within`` after the first cut
    assert stream.acked == ["a", "b", "c"]  # acked once the code handling it moved on
    await batches.aclose()
    assert stream.acked == ["a", "b", "c", "d", "e"]
    assert stream.enable_acks and stream._processors == []  # the stream as it was
    stream.stop()


async def test_the_queue_is_left_out_of_flow_control(stream: FakeStream) -> None:
    """Faust's flow control empties the queues it holds when the flow resumes, also
    after recovery's seek, when records just handed over are in them (module doc)."""
    batches = take_batches(stream, 3, within=0.05)
    stream.put("a")
    assert await take(batches) == ["a"]
    assert stream.app.flow_control._queues == set()


async def test_a_batch_given_a_future_is_acked_once_it_is_done(stream: FakeStream) -> None:
    batches = take_batches(stream, 2, within=0.05)
    stream.put("a", "b", "c", "d", "e", "f")
    first = await take(batches)
    written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    first.ack_when(written)
    second = await take(batches)
    second.ack_when(asyncio.get_running_loop().create_future())
    third = await take(batches)  # taken while the first two are still in flight
    assert isinstance(third, Batch) and third == ["e", "f"]
    await _settle()
    assert stream.acked == []

    written.set_result(None)
    await _settle()
    assert stream.acked == ["a", "b"]  # the first, not the second: still in flight
    assert second.done is not None
    second.done.cancel()  # a stage stopping: freed all the same (the consumer won't count it)
    await _settle()
    assert stream.acked == ["a", "b", "c", "d"]
    await batches.aclose()  # closing does not wait for anything
    assert stream.acked == ["a", "b", "c", "d", "e", "f"]
    stream.stop()
