"""A stage's batches from a Faust stream, filled while the stage works on the last one.

Faust's ``Stream.take_events`` (faust-streaming 0.11-0.15) stops filling its buffer while the
batch it yielded is being handled, then waits up to ``within`` for the next one to fill:
delivering records and handling them take turns, so every wait of a stage for the
broker's acknowledgements left the worker idle, and a larger ``max_`` only made it wait
out ``within`` more often (bench/pipeline.py, docs/performance.md).

:func:`take_batches` keeps Faust's stream, acks and consumer (the group, assignment,
tables and recovery are Faust's), and changes only when a batch is cut: records keep
arriving into a second buffer while the stage handles a batch, and the next batch is
taken ``within`` after the last one was (at once when ``max_`` are waiting), so the
time the stage spent on the last batch counts toward the next one's wait. Idle, a
stage waits as before (up to ``within`` for ``max_`` records). As with
``take_events``, a batch's events are acked once the code handling it returns, also
when it raised or was cancelled (the worker's consumer counts only what a stage said
it processed: streams/consumer.py), unless that code gave the batch a future with
:meth:`Batch.ack_when`: then once that future is done, however it ends, so a stage can
take the next batch while the last one's outputs are still on their way (the storage
stage's bulk writes: agents/worker.py ``_run_in_batches``). Faust waits for those acks
as for any other before a rebalance or a stop. Closing the batches never waits for them
(Faust closes them from another task while the stage may still be iterating them, so
a ``finally`` that waited would leave the generator running under the stage's feet).

The stream's queue (records the consumer handed over, not yet taken by the stream) is
taken out of Faust's flow control, which empties it whenever the flow resumes. Recovery
resumes the flow once more after it seeked the partitions to their committed offsets
(``Recovery.on_recovery_completed``): records fetched from there and handed over while
the seek was answered were emptied with the queue, untracked and unacked, while the
fetch position had moved past them. Nothing read them again until later records of the
partition were processed (streams/consumer.py ``_read_again``), or never if none came:
acknowledged events never stored (tests/e2e/test_two_workers.py). Left in the queue,
records the stream should not process are still skipped by it (and freed, not counted):
those of an older generation or that arrive while the flow is stopped; a seek to the
committed offset follows each of those rebalances.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from mode.utils.aiter import aiter

__all__ = ["Batch", "take_batches"]

_acking: set[asyncio.Task[None]] = set()  # batches acked once their future is done


class Batch(list[Any]):
    """Events of one batch, in the order they came."""

    def __init__(self, events: list[Any]) -> None:
        super().__init__(events)
        self.done: asyncio.Future[Any] | None = None

    def ack_when(self, done: asyncio.Future[Any]) -> None:
        """Ack this batch once ``done`` is, not once the code handling it returns."""
        self.done = done


async def _ack(stream: Any, batch: Batch) -> None:
    if batch.done is not None:
        await asyncio.wait([batch.done])  # however it ends: freed if never counted
    for event in batch:
        await stream.ack(event)


def _keep_queued(stream: Any) -> None:
    """Faust's flow control no longer empties ``stream``'s queue (see the module's doc)."""
    stream.app.flow_control._queues.discard(stream.channel.queue)


async def take_batches(stream: Any, max_: int, within: float) -> AsyncIterator[Batch]:
    """Batches of at most ``max_`` events of ``stream``, in the order they came."""
    waiting: list[Any] = []
    full = asyncio.Event()  # ``max_`` events are waiting
    room = asyncio.Event()  # fewer than ``max_``: delivery may go on
    room.set()

    async def add_to_buffer(value: Any) -> Any:
        try:
            event = stream.current_event
            if event is None:
                raise RuntimeError("take_batches found current_event is None")
            waiting.append(event)
            if len(waiting) >= max_:  # hold delivery back until a batch is taken
                full.set()
                room.clear()
                await stream.wait(room)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            stream.log.exception("Error adding to take buffer: %r", exc)
            await stream.crash(exc)
        return value

    _keep_queued(stream)
    acks_before = stream.enable_acks
    stream.enable_acks = False  # acked here, once the batch is handled
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))
    loop = asyncio.get_running_loop()
    cut = loop.time()
    try:
        while not stream.should_stop:
            if len(waiting) < max_:  # until full, or ``within`` after the last batch
                await stream.wait_for_stopped(full, timeout=max(0.0, cut + within - loop.time()))
                if not waiting:
                    cut = loop.time()
                    continue
            cut = loop.time()
            batch = Batch(waiting[:max_])
            del waiting[:max_]
            if len(waiting) < max_:
                full.clear()
                room.set()
            try:
                yield batch
            finally:
                if batch.done is None:
                    await _ack(stream, batch)
                else:
                    task = asyncio.ensure_future(_ack(stream, batch))
                    _acking.add(task)
                    task.add_done_callback(_acking.discard)
    finally:
        stream.enable_acks = acks_before
        stream._processors.remove(add_to_buffer)
