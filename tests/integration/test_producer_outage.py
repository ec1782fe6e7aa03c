"""An idempotent producer through a broker's kill -9 and restart, on its own Apache Kafka.

A record queued while the broker is down is retried until the broker is back and then
written once; stopping a producer while the broker is away returns within the produce
deadline (an idempotent aiokafka producer never gives up a sent batch by itself).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from headwater.commands.embedded import free_port
from headwater.commands.engines import start_kafka
from headwater.settings import Settings
from headwater.streams.kafka import AckedProducer, ensure_topics
from headwater.streams.topics import TopicSpec
from tests.support.services import Endpoints, engines_cache

pytestmark = pytest.mark.integration

TOPIC = "outage.records"


async def _values(address: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=address, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(TOPIC, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        values: list[bytes] = []
        async with asyncio.timeout(20):
            while await consumer.position(partition) < end:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    values.extend(record.value or b"" for record in batch)
    finally:
        await consumer.stop()
    return values


async def test_a_record_sent_during_an_outage_is_written_once_and_stop_is_bounded(
    endpoints: Endpoints, settings: Settings, tmp_path: Path
) -> None:
    if endpoints.standins:
        pytest.skip("needs a broker of its own to kill: Apache Kafka (Tansu has no producer ids)")
    port = free_port()
    engine = await asyncio.to_thread(
        start_kafka, tmp_path, engines_cache(), port=port, log_path=tmp_path / "kafka.log"
    )
    own = settings.model_copy(update={"kafka": engine.address, "produce_timeout": 2.0})
    try:
        await ensure_topics(own, [TopicSpec(TOPIC, 1)])
        producer = AckedProducer(own)
        await producer.start(wait=20)
        try:
            assert producer.idempotent
            await producer.send(TOPIC, b"before", b"k")
            engine.process.kill()  # kill -9
            during = await producer.enqueue(TOPIC, b"during", b"k")
            await asyncio.sleep(1.0)  # the producer's first attempts fail meanwhile
            engine = await asyncio.to_thread(
                start_kafka, tmp_path, engines_cache(), port=port, log_path=tmp_path / "kafka.log"
            )
            async with asyncio.timeout(60):
                await during  # retried until the broker took it
        finally:
            await producer.stop()
        assert await _values(engine.address) == [b"before", b"during"]

        late = AckedProducer(own)
        await late.start(wait=20)
        engine.process.kill()
        await late.enqueue(TOPIC, b"never acknowledged", b"k")
        started = time.monotonic()
        await asyncio.wait_for(late.stop(), 30)
        assert time.monotonic() - started < own.produce_timeout + 3
    finally:
        engine.stop()
