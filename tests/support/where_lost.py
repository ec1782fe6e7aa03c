"""Where events that never reached search were lost: for a failure message.

Reads the intake and events topics from the start and says, for each missing event id,
the last stage that holds it: the collector never wrote it (not on intake), the profile
agent never passed it on (on intake, not on events), or the storage agent never indexed
it (on events, not in search). With the partition and offset, which is what tells a
hand-over defect from a producer one.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, TopicPartition

from headwater.core.records import ProcessedBatch, processed_messages
from headwater.errors import HeadwaterError
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.topics import Topics

__all__ = ["where_lost"]


async def where_lost(settings: Settings, missing: set[str]) -> str:
    if not missing:
        return "nothing missing"
    codec = AvroCodec.default()
    topics = Topics(settings.topic_prefix)

    def intake_events(value: bytes) -> list[Any]:
        return list(codec.decode("intake_batch", value)["events"])

    def processed_events(value: bytes) -> list[Any]:
        processed = cast(ProcessedBatch, codec.decode("processed_batch", value))
        return [e for m in processed_messages(processed) for e in intake_events(m["intake"])]

    on_intake = await _ids_on(settings, topics.intake, intake_events)
    on_events = await _ids_on(settings, topics.events, processed_events)
    stages: Counter[str] = Counter()
    examples: list[str] = []
    for event_id in sorted(missing):
        if event_id not in on_intake:
            stage, detail = "never on intake", ""
        elif event_id not in on_events:
            stage, detail = "on intake, not on events", on_intake[event_id]
        else:
            stage, detail = "on events, not in search", on_events[event_id]
        stages[stage] += 1
        if len(examples) < 12:
            examples.append(f"{event_id} {stage} {detail}")
    return f"{dict(stages)}; " + "; ".join(examples)


async def _ids_on(settings: Settings, topic: str, events_of: Any) -> dict[str, str]:
    """Event id -> where it is (``p<partition>@<offset>``) on ``topic``, every copy."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(settings.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: dict[str, str] = {}
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                for record in records:
                    try:
                        events = events_of(record.value) if record.value else []
                    except HeadwaterError:  # another record kind: not an event batch
                        continue
                    for event in events:
                        where = f"p{tp.partition}@{record.offset}"
                        found[event["id"]] = (
                            f"{found[event['id']]},{where}" if event["id"] in found else where
                        )
        return found
    finally:
        await consumer.stop()
