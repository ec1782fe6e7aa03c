"""Kafka-topic bridge: JSON records of another topic become intake records with the
mapping applied, a record that can't become an event is dead-lettered, and the bridge's
consumer group commits only what intake has (its committed offsets reach the end)."""

from __future__ import annotations

import uuid

import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from headwater.infra.init import InitResult
from headwater.schemas import DEAD_LETTER, INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.kafka import AckedProducer, ensure_topics
from headwater.streams.topics import Topics, TopicSpec
from tests.support.bridges import connected, publish_bridge, running_bridges
from tests.support.kafka import read_topic
from tests.support.polling import eventually

pytestmark = pytest.mark.integration


async def test_kafka_records_become_events_and_offsets_are_committed_after_intake(
    shared_settings: Settings, initialized: InitResult
) -> None:
    settings = shared_settings
    bridge_id, source = str(uuid.uuid4()), f"{settings.topic_prefix}.orders-cdc"
    await ensure_topics(settings, [TopicSpec(source, 2)])
    config = {
        "channel": "kafka",
        "connection": {"url": f"kafka://{settings.kafka_servers}"},
        "subscription": {"topics": [source]},
        "mapping": {
            "event_type": "json:op",
            "event_id": ["message_id", "json:seq"],
            "profile_id": "json:customer",
            "properties": {"total": "json:after.total", "table": "header:table"},
        },
    }
    await publish_bridge(settings, bridge_id, config)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    try:
        for n in range(20):
            body = {"op": "order-updated", "seq": n, "customer": f"c{n % 4}", "after": {"total": n}}
            await producer.send(source, orjson.dumps(body), f"order-{n % 5}".encode())
        await producer.send(source, b"not json", b"order-x")
    finally:
        await producer.stop()

    async with running_bridges(settings, "kafka") as process:
        await connected(process, bridge_id)

        async def settled() -> bool:
            stats = process.stats[bridge_id]
            return stats.delivered == 20 and stats.dead_lettered == 1 and stats.in_flight == 0

        await eventually(settled, timeout=30)

    records = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).intake,
        INTAKE_BATCH,
        until=lambda rs: sum(r["source_id"] == bridge_id for r in rs) >= 20,
    )
    mine = [r for r in records if r["source_id"] == bridge_id]
    assert {r["channel"] for r in mine} == {"kafka"}
    assert {r["profile_id"] for r in mine} == {"c0", "c1", "c2", "c3"}
    totals = sorted(orjson.loads(r["events"][0]["properties"])["total"] for r in mine)
    assert totals == list(range(20))
    assert len({r["events"][0]["id"] for r in mine}) == 20

    letters = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).deadletter,
        DEAD_LETTER,
        until=lambda rs: any(r["key"] == bridge_id.encode() for r in rs),
    )
    [letter] = [r for r in letters if r["key"] == bridge_id.encode()]
    assert (letter["stage"], letter["payload"]) == ("bridge-kafka", b"not json")
    assert letter["topic"] == f"kafka:{source}"

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_servers)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(f"hw-bridge-production-{bridge_id}")
    finally:
        await admin.close()
    partitions = {TopicPartition(source, p) for p in range(2)}
    total = sum(meta.offset for tp, meta in committed.items() if tp in partitions)
    assert total == 21  # every record, the dead-lettered one too
