"""The worker's Faust consumer (streams/consumer.py) never commits past a record it did
not deliver, when a hand-over leaves a read offset behind and a seek lands between
fetches: the two ways Faust's own consumer lost records in tests/e2e/test_two_workers.py.

The delivery loop here is the real one of the worker app's consumer; only the fetches
(scripted records) and the committed offset the broker answers a seek with are made up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from faust.types import TP
from mode import Service
from mode.utils.locks import Event

from headwater.agents.worker import build_worker_app
from headwater.settings import load_settings
from headwater.streams.batches import take_batches
from headwater.streams.consumer import Fetched, WorkerConsumer, holes
from headwater.streams.delivery import deliver
from headwater.streams.store import release_state_dirs

INTAKE = TP("x.intake", 1)
COMMITTED = 10  # what the group has committed for INTAKE when the partition comes back


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    settings = load_settings(
        kafka="127.0.0.1:9", data_dir=tmp_path, worker_store="memory", topic_prefix="x"
    )
    app = build_worker_app(settings, ["profile"])
    try:
        yield app
    finally:
        release_state_dirs()
        if app._consumer is not None:  # its fetching thread's own loop (the other is
            app._consumer._thread.thread_loop.close()  # the tests' loop: async tests only)


def _records(first: int, last: int) -> list[ConsumerRecord[bytes, bytes]]:
    return [
        ConsumerRecord(INTAKE.topic, INTAKE.partition, offset, 0, 0, b"k", b"v", None, 1, 1, ())
        for offset in range(first, last + 1)
    ]


class _Fetcher:
    """What the delivery loop watches to know when to stop."""

    def __init__(self) -> None:
        self._stopped = asyncio.Event()


async def _deliver(
    consumer: Any,
    fetches: list[Callable[[], Awaitable[Any]]],
    to: Callable[[Any], Awaitable[None]] | None = None,
) -> list[int]:
    """Run the consumer's delivery loop over ``fetches`` (each returns one fetch's
    records); every delivered record is processed and acked at once, or handed to
    ``to`` (the app's streams: ``app.topics.on_message``). The offsets delivered, in
    order."""
    delivered: list[int] = []
    fetcher = _Fetcher()

    async def fetch(active: Any, timeout: float) -> Any:
        if not fetches:
            fetcher._stopped.set()
            return {}
        return await fetches.pop(0)()

    async def process(message: Any) -> None:
        delivered.append(message.offset)
        if to is None:
            _process(consumer, message)
        else:
            await to(message)

    async def committed() -> dict[TP, int]:
        return {INTAKE: COMMITTED}

    consumer.callback = process
    consumer._thread.getmany = fetch
    consumer._thread.seek_to_committed = committed
    consumer._thread.highwater = lambda tp: 100
    consumer._active_partitions = {INTAKE}
    consumer.resume_flow()
    await asyncio.wait_for(consumer._drain_messages(fetcher), timeout=10)
    return delivered


def _process(consumer: Any, message: Any) -> None:
    """What the worker does once a stage processed a message (agents/worker.py)."""
    if isinstance(consumer, WorkerConsumer):
        consumer.processed([message])
    consumer.ack(message)


def _fetched(first: int, last: int) -> Callable[[], Awaitable[Any]]:
    async def fetch() -> Any:
        return Fetched({INTAKE: _records(first, last)}, {})

    return fetch


def _seek_then(consumer: Any, first: int, last: int) -> Callable[[], Awaitable[Any]]:
    """A fetch that was on its way while recovery seeked the partition to its committed
    offset (Faust's ``perform_seek``): its records come from before the seek."""

    async def fetch() -> Any:
        await consumer.perform_seek()
        return Fetched({INTAKE: _records(first, last)}, {})

    return fetch


async def test_the_worker_consumes_with_the_worker_consumer(app: Any) -> None:
    assert isinstance(app.consumer, WorkerConsumer)


async def test_a_hand_over_delivers_every_record_the_commit_passes(app: Any) -> None:
    consumer = app.consumer
    app.topics._acking_topics.add(INTAKE.topic)  # the agent's source: Faust commits it
    # the delivery loop set this after the revocation had cleared the partition's state
    consumer._read_offset[INTAKE] = 13

    delivered = await _deliver(
        consumer,
        [
            _fetched(10, 16),  # the partition is back: from the committed offset
            _seek_then(consumer, 17, 20),
            _fetched(10, 20),  # after the seek: from the committed offset again
        ],
    )

    commit = consumer._new_offset(INTAKE)
    never = sorted(set(range(COMMITTED, commit or COMMITTED)) - set(delivered))
    assert never == [], f"commits {commit} without delivering {never}; delivered {delivered}"
    assert commit == 21
    assert delivered[:7] == list(range(10, 17))  # in order until the seek's records


async def test_only_offsets_the_fetch_skipped_count_as_acknowledged(app: Any) -> None:
    consumer = app.consumer
    app.topics._acking_topics.add(INTAKE.topic)
    consumer._base[INTAKE] = COMMITTED
    # a compacted stretch: 13-14 hold no record, as the fetcher found
    consumer.note_holes({INTAKE: holes(10, [10, 11, 12, 15, 16], 17)})
    for record in _records(10, 12) + _records(15, 15):
        _process(consumer, consumer._to_message(INTAKE, record))

    assert consumer._new_offset(INTAKE) == 16  # 16 was fetched, never acked


def test_holes_are_what_a_fetch_skipped() -> None:
    assert holes(10, [10, 11, 12], 13) == []
    assert holes(10, [12, 15], 20) == [(10, 12), (13, 15), (16, 20)]
    assert holes(5, [], 9) == [(5, 9)]


async def test_offsets_retention_deleted_count_as_done(app: Any) -> None:
    """The group lagged past retention: the fetcher reset to the log start, 20."""
    consumer = app.consumer
    app.topics._acking_topics.add(INTAKE.topic)
    consumer._base[INTAKE] = COMMITTED
    for record in _records(20, 21):
        _process(consumer, consumer._to_message(INTAKE, record))
    asked: list[tuple[TP, ...]] = []

    async def log_starts(*tps: TP) -> dict[TP, int]:
        asked.append(tps)
        return {INTAKE: 20}

    consumer._thread.earliest_offsets = log_starts
    await consumer.note_deleted()

    assert asked == [(INTAKE,)]
    assert consumer._new_offset(INTAKE) == 22


async def test_offsets_still_in_the_log_are_waited_for(app: Any) -> None:
    consumer = app.consumer
    app.topics._acking_topics.add(INTAKE.topic)
    consumer._base[INTAKE] = COMMITTED
    for record in _records(20, 21):
        _process(consumer, consumer._to_message(INTAKE, record))

    async def log_starts(*tps: TP) -> dict[TP, int]:
        return {INTAKE: 0}

    consumer._thread.earliest_offsets = log_starts
    await consumer.note_deleted()

    assert consumer._new_offset(INTAKE) is None


async def test_a_record_a_stream_skipped_is_freed_not_done(app: Any) -> None:
    """Faust acks a record its stream skips (a rebalance stopped the flow, or it belongs
    to an assignment that is gone), and a batch whose stage was cancelled; none was
    processed. Here the partition's state was just cleared by a revocation."""
    consumer = app.consumer
    app.topics._acking_topics.add(INTAKE.topic)
    consumer._base[INTAKE] = COMMITTED  # committed before the revocation
    messages = [consumer._to_message(INTAKE, record) for record in _records(10, 14)]
    consumer._unacked_messages.update(messages)
    for message in messages[:3]:
        _process(consumer, message)
    for message in messages[3:]:
        message.ack(consumer)  # Stream.__aiter__'s ack of a skipped value

    assert consumer._new_offset(INTAKE) == 13  # Faust's own: 15
    assert not consumer._unacked_messages  # a rebalance does not wait for them


async def test_the_record_at_the_committed_offset_is_waited_for(app: Any) -> None:
    """Skipped at a hand-over (the stream acked it unprocessed), then the records after
    it processed: Faust's own consumer commits past it (it tolerates one offset between
    its committed offset and the first acknowledged one)."""
    consumer = app.consumer
    app.topics._acking_topics.add(INTAKE.topic)
    consumer._base[INTAKE] = consumer._committed_offset[INTAKE] = COMMITTED
    skipped, *later = [consumer._to_message(INTAKE, record) for record in _records(10, 12)]
    skipped.ack(consumer)
    for message in later:
        _process(consumer, message)

    assert consumer._new_offset(INTAKE) is None  # Faust's own: 13


async def test_a_record_read_twice_is_not_waited_for(app: Any) -> None:
    consumer = app.consumer
    app.topics._acking_topics.add(INTAKE.topic)
    first, again = (consumer._to_message(INTAKE, _records(10, 10)[0]) for _ in range(2))
    consumer._unacked_messages.update([first, again])
    for message in (first, again):
        _process(consumer, message)

    assert not consumer._unacked_messages  # a revocation's wait_empty returns at once


async def test_a_skipped_record_is_read_again(app: Any) -> None:
    """Skipped at a hand-over and the records after it processed, with no seek to
    bring it back: the consumer seeks back to it, once it saw it waiting twice."""
    consumer = app.consumer
    app.topics._acking_topics.add(INTAKE.topic)
    consumer._base[INTAKE] = consumer._committed_offset[INTAKE] = COMMITTED
    skipped, *later = [consumer._to_message(INTAKE, record) for record in _records(10, 12)]
    skipped.ack(consumer)
    for message in later:
        _process(consumer, message)
    seeks: list[dict[TP, int]] = []

    async def log_starts(*tps: TP) -> dict[TP, int]:
        return {INTAKE: 0}

    async def seek_wait(offsets: dict[TP, int]) -> None:
        seeks.append(offsets)

    consumer._thread.earliest_offsets = log_starts
    consumer._thread.seek_wait = seek_wait
    consumer._thread.assignment = lambda: {INTAKE}

    await consumer.note_deleted()
    assert seeks == []  # it may still be on its way
    await consumer.note_deleted()
    assert seeks == [{INTAKE: COMMITTED}]


async def _tasks_made(consumer: Any, records: int) -> int:
    """The tasks the delivery loop makes while it delivers ``records`` records."""
    loop = asyncio.get_running_loop()
    made = 0

    def counting(loop: Any, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        nonlocal made
        made += 1
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counting)
    try:
        delivered = await _deliver(consumer, [_fetched(COMMITTED, COMMITTED + records - 1)])
    finally:
        loop.set_task_factory(None)
    assert len(delivered) == records
    return made


async def test_a_record_whose_delivery_does_not_wait_costs_no_task(app: Any) -> None:
    """Faust's loop made four tasks per record (``wait_first``): as much CPU as the
    profile stage's fold of a one-event message (streams/delivery.py)."""
    consumer = app.consumer
    app.topics._acking_topics.add(INTAKE.topic)
    few = await _tasks_made(consumer, 5)
    consumer._read_offset[INTAKE] = None
    many = await _tasks_made(consumer, 50)
    assert many == few, f"{many - few} tasks for 45 more records"


async def test_a_delivery_that_waits_goes_on_or_is_abandoned_as_before() -> None:
    """A callback that has to wait (a full stream queue) finishes as under Faust's own
    ``wait_first``, and is cancelled if the flow is suspended meanwhile."""
    service, suspended = Service(), Event()
    gate, done, cancelled = asyncio.Event(), [], []

    async def callback(n: int) -> None:
        try:
            await gate.wait()
            done.append(n)
        except asyncio.CancelledError:
            cancelled.append(n)
            raise

    async def open_gate() -> None:
        await asyncio.sleep(0.01)
        gate.set()

    opening = asyncio.create_task(open_gate())
    await deliver(service, callback(1), suspended)
    await opening
    gate.clear()
    suspending = asyncio.get_running_loop().call_later(0.01, suspended.set)
    await deliver(service, callback(2), suspended)
    await asyncio.sleep(0)
    suspending.cancel()
    assert (done, cancelled) == ([1], [2])

    async def failing() -> None:
        await asyncio.sleep(0)
        raise KeyError("raised after a wait")

    with pytest.raises(KeyError):
        await deliver(service, failing(), Event())


async def test_records_handed_to_a_stage_survive_the_flow_resuming(app: Any) -> None:
    """Recovery resumes the flow once more after seeking to the committed offsets
    (``on_recovery_completed``), and Faust's flow control empties the streams' queues
    then: records handed over while the seek was answered were dropped, the fetch
    position past them, and not read again (tests/e2e/test_two_workers.py lost
    acknowledged events so). Under ``wait_first`` the stream took each record before the
    next came; handed over without a task, they wait in the queue (streams/batches.py)."""
    consumer = app.consumer
    app.topics._acking_topics.add(INTAKE.topic)
    stream = app.stream(aiter(app.topic(INTAKE.topic, key_type=bytes, value_type=bytes)))
    await app.topics.on_partitions_assigned({INTAKE})
    app.flow_control.resume()
    batches = take_batches(stream, 5, within=0.5)
    first = asyncio.ensure_future(anext(batches))
    await asyncio.sleep(0.05)  # the stream's passive delivery has started

    async def seek_answered() -> Any:  # recovery goes on while the loop fetches again
        app.flow_control.resume()
        return {}

    offsets = list(range(COMMITTED, COMMITTED + 5))
    fetches = [_fetched(offsets[0], offsets[-1]), seek_answered]
    assert await _deliver(consumer, fetches, app.topics.on_message) == offsets
    batch = await asyncio.wait_for(first, 5)
    assert [event.message.offset for event in batch] == offsets
    await batches.aclose()
