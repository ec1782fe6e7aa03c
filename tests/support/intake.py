"""Intake records built the way the collector builds them, produced straight to Kafka."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import orjson

from headwater.core.intake import (
    Accepted,
    IntakeLimits,
    RequestMeta,
    build_tracker_batch,
    parse_tracker_payload,
)
from headwater.core.segment import parse_segment_batch
from headwater.core.segment_mapping import build_segment_batches
from headwater.core.sources import EventSource
from headwater.schemas import INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import SourceMessage
from headwater.streams.kafka import AckedProducer
from headwater.streams.topics import Topics

__all__ = ["Sender", "intake_source_message", "tracker_batch"]

_CODEC = AvroCodec.default()


def tracker_batch(
    settings: Settings,
    body: dict[str, Any],
    *,
    tenant: str = "default",
    env: str = "production",
    received_at: int | None = None,
    profile_less: bool = False,
) -> Accepted:
    """``body``, a ``/track`` payload, accepted as the collector accepts it from source
    ``src`` of ``tenant``/``env``; received now, or at ``received_at`` (epoch ms)."""
    if received_at is None:
        received_at = int(datetime.now(UTC).timestamp() * 1000)
    return build_tracker_batch(
        parse_tracker_payload(orjson.dumps(body)),
        EventSource(id="src", tenant=tenant, env=env),
        RequestMeta(received_at=received_at),
        IntakeLimits(settings.max_event_bytes, settings.max_request_bytes),
        profile_less=profile_less,
    )


def intake_source_message(settings: Settings, accepted: Accepted, offset: int) -> SourceMessage:
    """``accepted`` as a stage reads it from the intake topic (partition 0, ``offset``)."""
    value = _CODEC.encode(INTAKE_BATCH, accepted.record)
    return SourceMessage(Topics(settings.topic_prefix).intake, 0, offset, accepted.key, value)


class Sender:
    """Builds intake records the way the collector does and produces them."""

    def __init__(
        self, settings: Settings, producer: AckedProducer, env: str = "production"
    ) -> None:
        self._settings = settings
        self._producer = producer
        self._codec = AvroCodec.default()
        self._source = EventSource(id="src", tenant="default", env=env)
        self._limits = IntakeLimits(settings.max_event_bytes, settings.max_request_bytes)
        self.sent: Counter[str] = Counter()  # events per profile
        self.types: dict[str, Counter[str]] = {}  # events per profile and type
        self.ids: list[str] = []

    async def send(self, profile: str, events: list[dict[str, Any]]) -> None:
        body = {"source": {"id": "src"}, "profile": {"id": profile}, "events": events}
        accepted = tracker_batch(self._settings, body, env=self._source.env)
        value = self._codec.encode(INTAKE_BATCH, accepted.record)
        await self._producer.send(Topics(self._settings.topic_prefix).intake, value, accepted.key)
        self.sent[profile] += len(events)
        self.types.setdefault(profile, Counter()).update(e["type"] for e in events)
        self.ids += accepted.event_ids

    async def send_segment(self, *messages: dict[str, Any]) -> list[str]:
        """Segment messages as ``/v1/batch`` takes them; returns the profile ids."""
        batch = parse_segment_batch(orjson.dumps({"batch": list(messages)}))
        meta = RequestMeta(received_at=int(datetime.now(UTC).timestamp() * 1000))
        profiles = []
        for accepted in build_segment_batches(batch, self._source, meta, self._limits):
            value = self._codec.encode(INTAKE_BATCH, accepted.record)
            topic = Topics(self._settings.topic_prefix).intake
            await self._producer.send(topic, value, accepted.key)
            self.ids += accepted.event_ids
            assert accepted.profile_id is not None
            profiles.append(accepted.profile_id)
        return profiles
