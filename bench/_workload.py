"""The pipeline benchmark's workload: intake messages exactly as the collector writes
them, produced to a prefix's intake topic, and the 5-node flow configuration."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import orjson

from headwater.core.automation import FLOW_KIND, RULE_KIND
from headwater.core.intake import (
    IntakeLimits,
    RequestMeta,
    build_tracker_batch,
    parse_tracker_payload,
)
from headwater.core.sources import EventSource
from headwater.schemas import INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer, new_producer, partitions_of
from headwater.streams.topics import Topics

__all__ = ["FIVE_NODE_FLOW", "intake_messages", "produce", "publish_flow"]

SAMPLE = Path(__file__).resolve().parent / "data" / "browser_context.json"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def intake_messages(
    settings: Settings, source_id: str, events: int, per_message: int, profiles: int
) -> list[tuple[bytes, bytes]]:
    """(key, value) of every intake message, as the collector would produce them."""
    codec = AvroCodec.default()
    source = EventSource(id=source_id, tenant=settings.default_tenant, env=settings.env)
    limits = IntakeLimits(settings.max_event_bytes, settings.max_request_bytes)
    context = json.loads(SAMPLE.read_text())
    sizes = [per_message] * (events // per_message)
    if events % per_message:
        sizes.append(events % per_message)
    start = int(time.time() * 1000)
    messages = []
    for n, size in enumerate(sizes):
        profile = f"p{n % profiles:05d}"
        body = {
            "source": {"id": source_id},
            "profile": {"id": profile},
            "session": {"id": f"s-{profile}"},
            "context": context,
            "properties": {},
            "events": [
                {
                    "type": "page-view" if (n + i) % 2 == 0 else "add-to-cart",
                    "properties": {
                        "url": f"https://shop.example/p/{n}-{i}",
                        "sku": f"SKU-{i:05d}",
                        "qty": 1,
                    },
                    "options": {},
                }
                for i in range(size)
            ],
            "options": {"saveSession": True, "saveEvents": True},
        }
        accepted = build_tracker_batch(
            parse_tracker_payload(orjson.dumps(body)),
            source,
            RequestMeta(received_at=start + n, ip="203.0.113.7", user_agent=USER_AGENT),
            limits,
        )
        messages.append((accepted.key, codec.encode(INTAKE_BATCH, accepted.record)))
    return messages


async def produce(settings: Settings, topic: str, messages: list[tuple[bytes, bytes]]) -> float:
    """Send everything without waiting per record (the accumulator batches), then await
    every acknowledgement. Returns the seconds it took."""
    producer = new_producer(settings, linger_ms=5)
    await producer.start()
    try:
        started = time.perf_counter()
        pending = [await producer.send(topic, value, key=key) for key, value in messages]
        await asyncio.gather(*pending)
        return time.perf_counter() - started
    finally:
        await producer.stop()


# A 5-node flow every bench event runs through (all five nodes run: qty is 1), triggered
# by a rule on each of the two event types the bench sends.
FIVE_NODE_FLOW = {
    "nodes": [
        {"id": "start", "action": "start"},
        {"id": "some", "action": "if", "config": {"condition": "payload.qty >= 1"}},
        {"id": "tier", "action": "update-traits", "config": {"traits": {"tier": "gold"}}},
        {"id": "count", "action": "increment-counter", "config": {"counter": "items"}},
        {"id": "hook", "action": "webhook", "config": {"url": "http://crm.local/hook"}},
    ],
    "edges": [
        {"from": "start", "to": "some"},
        {"from": "some:true", "to": "tier"},
        {"from": "tier", "to": "count"},
        {"from": "count", "to": "hook"},
    ],
}


async def publish_flow(settings: Settings) -> None:
    """The 5-node flow and a rule per bench event type, on the prefix's config topic."""
    topics = Topics(settings.topic_prefix)
    for topic in (topics.config, topics.config_history):  # just created: Apache Kafka
        for _ in range(300):  # shows it in metadata a moment later (else the producer
            if await partitions_of(settings, topic):  # logs an error per retry)
                break
            await asyncio.sleep(0.1)
    entries = [(FLOW_KIND, "bench-flow", FIVE_NODE_FLOW)] + [
        (RULE_KIND, f"on-{kind}", {"flow_id": "bench-flow", "event_type": kind})
        for kind in ("page-view", "add-to-cart")
    ]
    await publish_config(settings, entries)


async def publish_config(settings: Settings, entries: list[tuple[str, str, Any]]) -> None:
    """``(kind, entity id, data)`` entries, version 1, on the prefix's config topic, in
    the default tenant and the settings' context."""
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    publisher = ConfigPublisher(settings, AvroCodec.default(), producer)
    try:
        for kind, entity_id, data in entries:
            await publisher.publish(
                kind=kind,
                tenant=settings.default_tenant,
                env=settings.env,
                entity_id=entity_id,
                data=data,
                version=1,
                updated_by="bench",
            )
    finally:
        await producer.stop()
