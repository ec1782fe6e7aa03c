"""The worker consumer's fetch (streams/consumer.py) on a real broker: the records of a
partition with the offsets between them that hold no record (here a transaction marker),
read from aiokafka's fetcher as the worker reads them. Those offsets are what the worker
may count as acknowledged without delivering anything; a record's offset never is."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from headwater.settings import Settings
from headwater.streams.consumer import Fetched, WorkerConsumerThread
from headwater.streams.kafka import ensure_topics, kafka_client_options
from headwater.streams.topics import TopicSpec
from tests.support.services import Endpoints

pytestmark = pytest.mark.integration


async def _write(settings: Settings, topic: str) -> None:
    """Two records in a transaction, then one without. The commit marker takes offset 2
    or 3: the broker writes markers after it answered the commit, so the third record
    may land before it."""
    options = kafka_client_options(settings)
    transactional = AIOKafkaProducer(**options, transactional_id=f"{topic}-tx")
    await transactional.start()
    try:
        async with transactional.transaction():
            for value in (b"a", b"b"):
                await transactional.send(topic, value, partition=0)
    finally:
        await transactional.stop()
    plain = AIOKafkaProducer(**options, acks="all")
    await plain.start()
    try:
        await plain.send_and_wait(topic, b"c", partition=0)
    finally:
        await plain.stop()


async def test_a_fetch_names_the_offsets_without_a_record(
    endpoints: Endpoints, settings: Settings
) -> None:
    if endpoints.standins:
        pytest.skip("transaction markers: Apache Kafka's")
    topic = f"{settings.topic_prefix}.fetch"
    await ensure_topics(settings, [TopicSpec(topic, 1)])
    await _write(settings, topic)
    tp = TopicPartition(topic, 0)
    consumer = AIOKafkaConsumer(**kafka_client_options(settings), enable_auto_commit=False)
    await consumer.start()
    worker_thread: Any = SimpleNamespace(consumer=SimpleNamespace(flow_active=True))
    records: list[tuple[int, bytes]] = []
    skipped: list[tuple[int, int]] = []
    try:
        consumer.assign([tp])
        consumer.seek(tp, 0)
        async with asyncio.timeout(30):
            while await consumer.position(tp) < 4:
                fetched = await WorkerConsumerThread._fetch_records(
                    worker_thread, consumer, {tp}, timeout=1.0
                )
                records += [(r.offset, r.value) for r in fetched.get(tp, [])]
                if isinstance(fetched, Fetched):
                    skipped += fetched.holes.get(tp, [])
    finally:
        await consumer.stop()
    assert [value for _, value in records] == [b"a", b"b", b"c"]
    offsets = [offset for offset, _ in records]
    assert offsets[:2] == [0, 1] and offsets[2] in (2, 3)
    marker = 5 - offsets[2]  # the one offset of 0..3 that holds no record
    assert skipped == [(marker, marker + 1)]  # the marker, and nothing else
