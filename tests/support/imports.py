"""Running imports in tests and reading back what they put on the intake topic."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from headwater.commands.imports import (
    FileCheckpoints,
    ImportOptions,
    ImportSpec,
    ImportSummary,
    run_import,
)
from headwater.schemas import INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.kafka import partitions_of
from headwater.streams.topics import Topics


async def import_into(
    settings: Settings,
    spec: ImportSpec,
    source_id: str,
    state: Path,
    *,
    cancelled: Callable[[], bool] | None = None,
    **options: Any,
) -> ImportSummary:
    """``run_import`` with its checkpoints and rejects in ``state``."""
    return await run_import(
        settings,
        spec,
        ImportOptions(source_id=source_id, **options),
        checkpoints=FileCheckpoints(state),
        rejects_dir=state,
        cancelled=cancelled,
    )


async def intake_records(settings: Settings) -> list[dict[str, Any]]:
    """Every record on the intake topic, decoded (read up to the end offsets)."""
    topic = Topics(settings.topic_prefix).intake
    codec = AvroCodec.default()
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_servers, enable_auto_commit=False)
    await consumer.start()
    records: list[dict[str, Any]] = []
    try:
        partitions = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        async with asyncio.timeout(60):
            while [p for p in partitions if await consumer.position(p) < ends[p]]:
                batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
                for batch in batches.values():
                    records += [codec.decode(INTAKE_BATCH, m.value) for m in batch]
    finally:
        await consumer.stop()
    return records


async def intake_count(settings: Settings) -> int:
    """How many records the intake topic holds (the sum of its end offsets)."""
    topic = Topics(settings.topic_prefix).intake
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


def event_ids(records: list[dict[str, Any]]) -> list[str]:
    return [event["id"] for record in records for event in record["events"]]
