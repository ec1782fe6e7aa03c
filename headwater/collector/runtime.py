"""What the collector's routes share: the producer, the config view, the codec, limits."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pydantic import ValidationError

from headwater.collector import observed
from headwater.collector.signatures import WebhookSignatures
from headwater.core.intake import Accepted, IntakeLimits
from headwater.core.ratelimit import SourceRateLimiter
from headwater.core.redirects import REDIRECT_KIND, Redirect
from headwater.core.sources import EventSource, RateLimit, key_prefix
from headwater.core.tenancy import tenant_key
from headwater.errors import NotFound, NotReady, RateLimited, SourceForbidden, UnknownSource
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
    rate_limiter: SourceRateLimiter
    signatures: WebhookSignatures

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
            rate_limiter=SourceRateLimiter(
                RateLimit(
                    events_per_second=settings.rate_limit_events_per_second,
                    burst=settings.rate_limit_burst,
                )
            ),
            signatures=WebhookSignatures(settings),
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
            elsewhere = self._elsewhere(self.config.source(source_id, self._other_env), "")
            raise UnknownSource(f"unknown event source {source_id}{elsewhere}", field="source.id")
        return self._unsuspended(source, "source.id")

    @property
    def _other_env(self) -> str:
        return "staging" if self.settings.env == "production" else "production"

    def _elsewhere(self, source: EventSource | None, whose: str) -> str:
        """Why a source of the other environment is refused here, and what to do."""
        if source is None or source.env == self.settings.env:
            return ""
        return (
            f": it is a {source.env} source{whose}; this collector serves {self.settings.env}: "
            "deploy the source (POST /sources/{id}/deploy) or send to a "
            f"{source.env} collector"
        )

    def _unsuspended(self, source: EventSource, field: str) -> EventSource:
        tenant = self.config.get(tenant_key(source.tenant))
        if tenant is not None and tenant.data.get("status") == "suspended":
            raise SourceForbidden(f"tenant of event source {source.id} is suspended", field=field)
        return source

    def source_for_key(self, write_key: str) -> EventSource:
        """The source of a live write key served by this collector's environment."""
        source = self.config.source_for_key(write_key)
        if source is None or source.env != self.settings.env:
            if source is None and not self.config.caught_up:
                raise NotReady("event sources are still loading; retry shortly")
            # the key itself is a secret: say which one by its prefix only
            elsewhere = self._elsewhere(source, "'s key")
            raise UnknownSource(
                f"unknown or revoked write key {key_prefix(write_key)}{elsewhere}", field="writeKey"
            )
        return self._unsuspended(source, "writeKey")

    def redirect(self, redirect_id: str) -> tuple[Redirect, EventSource]:
        """A configured redirect of this environment and the source recording its clicks."""
        entry = self.config.entry(REDIRECT_KIND, self.settings.env, redirect_id)
        if entry is None:
            if not self.config.caught_up:
                raise NotReady("redirects are still loading; retry shortly")
            raise NotFound(f"unknown redirect {redirect_id}", field="redirect_id")
        try:
            redirect = Redirect.model_validate({**entry.data, "id": entry.id})
        except ValidationError:
            raise NotFound(
                f"redirect {redirect_id} is misconfigured", field="redirect_id"
            ) from None
        return redirect, self.source(redirect.source_id)

    def admit_rate(self, source: EventSource, events: int) -> None:
        """Refuse (429 with Retry-After) events over the source's rate limit."""
        wait = self.rate_limiter.take(source, events, time.monotonic())
        if wait:
            raise RateLimited(
                f"event source {source.id} is over its rate limit; retry in {wait}s",
                retry_after=wait,
            )

    async def publish_all(self, batches: list[Accepted], channel: str) -> None:
        """Write several batches (one per profile); returns once all are acknowledged."""
        if len(batches) == 1:
            await self.publish(batches[0], channel)
        elif batches:
            encode = self.codec.encode
            records = [(encode(INTAKE_BATCH, a.record), a.key) for a in batches]
            await self.producer.send_many(self.topics.intake, records)
            observed.accepted(channel, sum(len(a.event_ids) for a in batches))

    async def publish(self, accepted: Accepted, channel: str) -> None:
        """Encode and write the batch; returns only once the broker acknowledged it.
        ``channel`` (track, collect, segment, batch, redirect) labels the count."""
        value = self.codec.encode(INTAKE_BATCH, accepted.record)
        await self.producer.send(self.topics.intake, value, accepted.key)
        observed.accepted(channel, len(accepted.event_ids))

    @staticmethod
    def now_ms() -> int:
        return time.time_ns() // 1_000_000
