"""How far a consumer group is behind: per partition, its committed offset against the
partition's end offset (what the worker still has to read)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from headwater.errors import BrokerUnavailable
from headwater.settings import Settings
from headwater.streams.kafka import kafka_client_options

__all__ = ["PartitionLag", "group_lag"]


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # None: the group never committed here
    end: int
    lag: int  # records after the committed offset (after the start when none)


async def _partitions(admin: AIOKafkaAdminClient, topics: Sequence[str]) -> list[TopicPartition]:
    described = await admin.describe_topics(list(topics))
    return sorted(
        TopicPartition(entry["topic"], int(p["partition"]))
        for entry in described
        if not entry["error_code"]
        for p in entry["partitions"]
    )


async def group_lag(settings: Settings, group: str, topics: Sequence[str]) -> list[PartitionLag]:
    """The lag of ``group`` on every partition of ``topics`` that exists, in order."""
    options = kafka_client_options(settings)
    admin = AIOKafkaAdminClient(**options, client_id="headwater-lag")
    consumer = AIOKafkaConsumer(**options, enable_auto_commit=False, group_id=None)
    try:
        await admin.start()
        await consumer.start()
        partitions = await _partitions(admin, topics)
        if not partitions:
            return []
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
    except KafkaError as exc:
        raise BrokerUnavailable(f"could not read the offsets of {group}: {exc!r}") from exc
    finally:
        await consumer.stop()
        await admin.close()
    found = []
    for tp in partitions:
        offset = committed.get(tp)
        done = offset.offset if offset is not None and offset.offset >= 0 else None
        lag = ends[tp] - (starts[tp] if done is None else max(done, starts[tp]))
        found.append(PartitionLag(tp.topic, tp.partition, done, ends[tp], max(lag, 0)))
    return found
