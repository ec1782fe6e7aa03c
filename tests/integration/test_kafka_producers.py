"""What Headwater's producers and consumers get from the broker, on each kind of engine.

On Apache Kafka every producer is idempotent (the broker grants a producer id, so a
retried send is written once) and end offsets are exact, so a consumer's lag is the
end offset minus its position with no workaround. The embedded Tansu refuses producer
ids: producers fall back, with one warning, and still deliver.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from headwater.settings import Settings
from headwater.streams import kafka
from headwater.streams.kafka import AckedProducer, ensure_topics, kafka_client_options
from headwater.streams.sender import RetryingSender
from headwater.streams.topics import TopicSpec
from tests.support.services import Endpoints

pytestmark = [pytest.mark.integration, pytest.mark.smoke]

PARTITIONS = 3


async def _read_all(
    settings: Settings, topic: str, count: int, partitions: int = PARTITIONS
) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings), enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        async with asyncio.timeout(20):
            while len(values) < count:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    values.extend(record.value for record in batch if record.value)
    finally:
        await consumer.stop()
    return values


async def test_producers_are_idempotent_where_the_broker_grants_it(
    settings: Settings,
    endpoints: Endpoints,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(kafka, "_REFUSED_IDEMPOTENCE", set())  # this test's own probe
    topic = f"{settings.topic_prefix}.produced"
    await ensure_topics(settings, [TopicSpec(topic, PARTITIONS)])
    producers = [AckedProducer(settings), AckedProducer(settings)]
    try:
        with caplog.at_level(logging.WARNING, logger=kafka.__name__):
            for producer in producers:
                await producer.start(wait=15)
                assert producer.connected
        for n, producer in enumerate(producers):
            await producer.send_many(topic, [(f"v{n}-{i}".encode(), b"k%d" % i) for i in range(20)])
        refusals = [r for r in caplog.records if "refused a producer id" in r.getMessage()]
        if endpoints.standins:  # Tansu refuses InitProducerId: one warning, then plain
            assert [p.idempotent for p in producers] == [False, False]
            assert len(refusals) == 1
        else:
            assert [p.idempotent for p in producers] == [True, True]
            ids = [p.producer_id for p in producers]
            assert all(i is not None and i >= 0 for i in ids) and ids[0] != ids[1], ids
            assert refusals == []
    finally:
        for producer in producers:
            await producer.stop()
    values = await _read_all(settings, topic, 40)
    assert sorted(values) == sorted(f"v{n}-{i}".encode() for n in range(2) for i in range(20))


async def test_idempotence_off_asks_for_no_producer_id(settings: Settings) -> None:
    producer = AckedProducer(settings.model_copy(update={"kafka_idempotence": "off"}))
    await producer.start(wait=15)
    try:
        assert producer.connected
        assert not producer.idempotent and producer.producer_id is None
    finally:
        await producer.stop()


async def test_lag_is_the_end_offset_minus_the_position_with_multi_record_batches(
    settings: Settings, endpoints: Endpoints
) -> None:
    """The workers' lag and a replay's progress come from the broker's end offsets. On
    Apache Kafka they are exact also after multi-record batches, which is why the end
    marks of streams/table_state.py stay off there (Settings.worker_single_record_batches)."""
    if endpoints.standins:
        pytest.skip("Tansu reports a multi-record batch's end offset as its base offset + 1")
    topic = f"{settings.topic_prefix}.lag"
    await ensure_topics(settings, [TopicSpec(topic, PARTITIONS)])
    produced, consumed = {0: 40, 1: 25, 2: 7}, {0: 13, 1: 25, 2: 0}
    producer = AckedProducer(settings, linger_ms=50)  # lingers: one batch per partition
    await producer.start(wait=15)
    try:
        acks = [
            await producer.enqueue(topic, b"x%d" % i, None, partition)
            for partition, n in produced.items()
            for i in range(n)
        ]
        last = await asyncio.gather(*acks)
    finally:
        await producer.stop()
    assert {m.partition: m.offset for m in last} == {p: n - 1 for p, n in produced.items()}

    group = f"{settings.topic_prefix}-lag"
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings), enable_auto_commit=False, group_id=group
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        for tp in partitions:
            seen = 0
            async with asyncio.timeout(15):
                while seen < consumed[tp.partition]:
                    left = consumed[tp.partition] - seen
                    got = await consumer.getmany(tp, timeout_ms=200, max_records=left)
                    seen += len(got.get(tp, []))
            consumer.seek(tp, consumed[tp.partition])  # what was not handed out is unread
        await consumer.commit({tp: consumed[tp.partition] for tp in partitions})
        ends = await consumer.end_offsets(partitions)
        lag = {tp.partition: ends[tp] - await consumer.position(tp) for tp in partitions}
        committed = {
            tp.partition: ends[tp] - (await consumer.committed(tp) or 0) for tp in partitions
        }
    finally:
        await consumer.stop()
    expected = {p: produced[p] - consumed[p] for p in produced}
    assert lag == expected
    assert committed == expected


async def test_a_producer_whose_state_the_broker_lost_is_replaced(
    settings: Settings, endpoints: Endpoints
) -> None:
    """After a sequence gap the broker refuses every later batch of that producer id;
    the stage's sender keeps retrying and a new producer (a new id) delivers once."""
    if endpoints.standins:
        pytest.skip("Tansu grants no producer ids")
    topic = f"{settings.topic_prefix}.renewed"
    await ensure_topics(settings, [TopicSpec(topic, 1)])
    sender = RetryingSender(settings.model_copy(update={"stage_max_backoff": 0.5}), "test")
    await sender.producer.start(wait=15)
    try:
        await (await sender(topic, b"k", b"first"))
        first_id = sender.producer.producer_id
        assert first_id is not None
        # as if the broker had lost this producer's state: the next batch leaves a gap
        manager = sender.producer._producer._txn_manager  # type: ignore[union-attr]
        manager.increment_sequence_number(TopicPartition(topic, 0), 10)
        async with asyncio.timeout(30):
            await (await sender(topic, b"k", b"second"))
        assert sender.producer.producer_id not in (None, first_id)
    finally:
        await sender.producer.stop()
    assert await _read_all(settings, topic, 2, partitions=1) == [b"first", b"second"]


async def test_acknowledged_sends_share_one_deadline_timer(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collector awaits an acknowledgement per request under a deadline: one timer
    for all of them, not one timer (and cancellation scope) per record (a few
    microseconds of every request); every record still counts in the produce histogram."""
    topic = f"{settings.topic_prefix}.deadlines"
    await ensure_topics(settings, [TopicSpec(topic, PARTITIONS)])
    producer = AckedProducer(settings)
    await producer.start(wait=15)
    loop = asyncio.get_running_loop()
    timers: list[object] = []
    call_at = loop.call_at

    def counting(when: float, callback: object, *args: object, **kwargs: object) -> object:
        timers.append(callback)
        return call_at(when, callback, *args, **kwargs)  # type: ignore[arg-type]

    try:
        await producer.send(topic, b"warm", b"k")  # metadata fetched
        monkeypatch.setattr(loop, "call_at", counting)
        sends = [producer.send(topic, b"v%d" % i, b"k%d" % i) for i in range(200)]
        await asyncio.gather(*sends, producer.send_many(topic, [(b"m", b"k")] * 50))
        monkeypatch.undo()
    finally:
        await producer.stop()
    # aiokafka's own timers: one per produce request (many records each), a sweep per 0.25 s
    assert len(timers) < 50, timers
    assert len(await _read_all(settings, topic, 251)) == 251
