"""``hw.profiles`` and ``hw.config`` are compacted for real on Apache Kafka.

Init creates them with ``cleanup.policy=compact``. Here, on topics created exactly as
init creates them, only the speed of the cleaner is changed (a new segment every 100 ms,
every dirty byte worth cleaning, no minimum age); then several values are written per key
and the test waits, bounded, for Kafka's log cleaner to leave each key's latest value and
nothing older. Tansu keeps every record (it does not compact), so this is Apache-only.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from headwater.settings import Settings
from headwater.streams.kafka import AckedProducer, ensure_topics, kafka_client_options
from headwater.streams.topics import Topics
from tests.support.services import Endpoints

pytestmark = pytest.mark.integration

ROUNDS = 5
CLEANER_WAIT = 120.0  # the broker's cleaner looks for work every 15 s (log.cleaner.backoff.ms)
FAST_CLEANING = {
    "segment.ms": "100",
    "min.cleanable.dirty.ratio": "0.01",
    "min.compaction.lag.ms": "0",
}
ROLL = b"roll"  # a record after the last round closes its segment, so it can be cleaned


async def _configs(admin: AIOKafkaAdminClient, topics: list[str]) -> dict[str, dict[str, str]]:
    resources = [ConfigResource(ConfigResourceType.TOPIC, topic) for topic in topics]
    found: dict[str, dict[str, str]] = {}
    for response in await admin.describe_configs(resources):
        for _code, _message, _type, name, entries in response.resources:
            found[name] = {entry[0]: entry[1] for entry in entries}
    return found


async def _read(settings: Settings, topic: str, partitions: int) -> dict[bytes, list[bytes]]:
    """Every value left in ``topic``, per key, in log order (roll markers left out)."""
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings), enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    values: dict[bytes, list[bytes]] = defaultdict(list)
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        async with asyncio.timeout(20):
            while [tp for tp in assigned if await consumer.position(tp) < ends[tp]]:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    for record in batch:
                        if record.key is not None and record.key != ROLL:
                            values[record.key].append(record.value or b"")
    finally:
        await consumer.stop()
    return dict(values)


async def _written(settings: Settings, topic: str, partitions: int) -> int:
    """Records ever written to a fresh ``topic``: its end offsets (cleaning keeps them)."""
    consumer = AIOKafkaConsumer(**kafka_client_options(settings), group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
    finally:
        await consumer.stop()
    return sum(ends.values())


async def test_profiles_and_config_keep_only_the_latest_value_per_key(
    settings: Settings, endpoints: Endpoints
) -> None:
    if endpoints.standins:
        pytest.skip("Tansu does not compact: it keeps every value ever written")
    topics = Topics(settings.topic_prefix)
    await ensure_topics(settings, topics.specs(settings.partitions))  # as init does
    partitions = {topics.profiles: settings.partitions, topics.config: 1}
    admin = AIOKafkaAdminClient(**kafka_client_options(settings))
    await admin.start()
    try:
        created = await _configs(admin, list(partitions))
        assert {t: created[t]["cleanup.policy"] for t in partitions} == dict.fromkeys(
            partitions, "compact"
        )
        await admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC, topic, {"cleanup.policy": "compact", **FAST_CLEANING}
                )
                for topic in partitions
            ]
        )
        # the broker answers describe from its metadata, which follows the controller's
        # change a moment later: wait (bounded) until it shows
        async with asyncio.timeout(15):
            while True:
                altered = await _configs(admin, list(partitions))
                if all(altered[t]["segment.ms"] == "100" for t in partitions):
                    break
                await asyncio.sleep(0.2)
        assert all(altered[t]["cleanup.policy"] == "compact" for t in partitions)
    finally:
        await admin.close()

    keys = {
        topics.profiles: [f"default:profile-{i}".encode() for i in range(8)],
        topics.config: [f"source:{i}".encode() for i in range(4)],
    }
    producer = AckedProducer(settings)
    await producer.start(wait=15)
    try:
        for n in range(1, ROUNDS + 1):
            for topic, names in keys.items():
                await producer.send_many(topic, [(b"%s=v%d" % (k, n), k) for k in names])
            await asyncio.sleep(0.15)  # each round in segments of its own
        for topic, count in partitions.items():
            for partition in range(count):
                await producer.send(topic, b"", ROLL, partition)
    finally:
        await producer.stop()

    latest = {topic: {k: [b"%s=v%d" % (k, ROUNDS)] for k in names} for topic, names in keys.items()}
    # every value went in (the cleaner may already have removed older ones: on a busy
    # broker it did, so the log's end offsets count them, not a read)
    written = {topic: await _written(settings, topic, partitions[topic]) for topic in keys}
    assert written == {t: ROUNDS * len(names) + partitions[t] for t, names in keys.items()}

    deadline = time.monotonic() + CLEANER_WAIT
    while True:
        left = {topic: await _read(settings, topic, partitions[topic]) for topic in keys}
        if left == latest or time.monotonic() > deadline:
            break
        await asyncio.sleep(2)
    assert left == latest  # old values gone, the latest of every key kept
