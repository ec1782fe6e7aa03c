"""Reading topics back in tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from headwater.settings import load_settings
from headwater.streams.codec import AvroCodec
from headwater.streams.kafka import partitions_of


async def _partitions(servers: str, topic: str) -> list[int]:
    """The topic's partitions, once it exists and each has a leader."""
    settings = load_settings(kafka=servers)
    while True:
        if found := await partitions_of(settings, topic):
            return found
        await asyncio.sleep(0.1)


async def read_topic(
    servers: str,
    topic: str,
    schema: str | None,
    *,
    until: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 15.0,
) -> list[dict[str, Any]]:
    """Decode every record of ``topic`` from the beginning until ``until(records)`` holds
    (``schema`` None: each record is ``{"_value": raw bytes}``)."""
    codec = AvroCodec.default()
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    await consumer.start()
    records: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(timeout):
            assigned = [TopicPartition(topic, p) for p in await _partitions(servers, topic)]
            consumer.assign(assigned)
            await consumer.seek_to_beginning(*assigned)
            while not until(records):
                batches = await consumer.getmany(timeout_ms=200)
                for batch in batches.values():
                    for message in batch:
                        if schema is None:
                            record = {"_value": message.value}
                        else:
                            record = codec.decode(schema, message.value)
                        record["_key"] = message.key
                        records.append(record)
    finally:
        await consumer.stop()
    return records
