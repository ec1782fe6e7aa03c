"""What the collector's routes share: the producer, the config view, the codec, limits."""

from __future__ import annotations

import time
from dataclasses import dataclass

from headwater.core.intake import Accepted, IntakeLimits
from headwater.core.sources import EventSource
from headwater.core.tenancy import tenant_key
from headwater.errors import NotReady, SourceForbidden, UnknownSource
from headwater.schemas import INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigLog
from headwater.streams.kafka import AckedProducer, kafka_client_options
from headwater.streams.topics import Topics

__all__ = ["CollectorRuntime"]


@dataclass
class CollectorRuntime:
    settings: Settings
    codec: AvroCodec
    producer: AckedProducer
    config: ConfigLog
    topics: Topics
    limits: IntakeLimits

    @classmethod
    def create(cls, settings: Settings) -> CollectorRuntime:
        kafka_client_options(settings)  # refuse bad security settings now, not in a task
        codec = AvroCodec.default()
        return cls(
            settings=settings,
            codec=codec,
            producer=AckedProducer(settings),
            config=ConfigLog(settings, codec),
            topics=Topics(settings.topic_prefix),
            limits=IntakeLimits(settings.max_event_bytes, settings.max_request_bytes),
        )

    async def start(self) -> None:
        await self.producer.start(wait=5.0)
        await self.config.start(wait=self.settings.config_wait)

    async def stop(self) -> None:
        await self.config.stop()
        await self.producer.stop()

    def source(self, source_id: str) -> EventSource:
        source = self.config.source(source_id, self.settings.env)
        if source is None:
            if not self.config.caught_up:  # 401 would make SDKs drop the event for good
                raise NotReady("event sources are still loading; retry shortly")
            raise UnknownSource(f"unknown event source {source_id}", field="source.id")
        tenant = self.config.get(tenant_key(source.tenant))
        if tenant is not None and tenant.data.get("status") == "suspended":
            raise SourceForbidden(
                f"tenant of event source {source_id} is suspended", field="source.id"
            )
        return source

    async def publish(self, accepted: Accepted) -> None:
        """Encode and write the batch; returns only once the broker acknowledged it."""
        value = self.codec.encode(INTAKE_BATCH, accepted.record)
        await self.producer.send(self.topics.intake, value, accepted.key)

    @staticmethod
    def now_ms() -> int:
        return time.time_ns() // 1_000_000
