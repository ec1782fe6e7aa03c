"""What the worker tells its metrics: per stage, messages in and batch time; per
partition it is assigned, the consumer group's lag read from the broker's real end
offsets (headwater/observability/metrics.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from headwater.core.delivery import BreakerState, CircuitBreaker
from headwater.core.flows.state import OutboundRequest
from headwater.core.ports.outbound import Transport
from headwater.errors import HeadwaterError
from headwater.observability.metrics import (
    CONSUMER_LAG,
    OUTBOUND_ATTEMPTS,
    OUTBOUND_BREAKER_OPEN,
    OUTBOUND_RETRIES,
    STAGE_BATCH_SECONDS,
    STAGE_MESSAGES_IN,
    logical_topic,
)
from headwater.settings import Settings
from headwater.streams.lag import group_lag

__all__ = ["ConsumerLag", "OutboundObserved", "assigned_partitions", "timed_batch"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# a request naming no server of its own: what a transport's configured default is
_DEFAULT = OutboundRequest(
    kind="", target={}, body=None, idempotency_key="", flow_id="", node_id="", event_id=""
)


async def timed_batch(stage: str, messages: Sequence[Any], handle: Callable[[], Awaitable[T]]) -> T:
    """Run one batch of ``stage``, counting its messages and timing it (until the future
    it returns is done, when it returns one: its outputs still on their way)."""
    started = time.perf_counter()
    seconds = STAGE_BATCH_SECONDS.labels(stage)
    result = await handle()
    if isinstance(result, asyncio.Future):
        result.add_done_callback(lambda _: seconds.observe(time.perf_counter() - started))
    else:
        seconds.observe(time.perf_counter() - started)
    STAGE_MESSAGES_IN.labels(stage).inc(len(messages))
    return result


class ConsumerLag:
    """Sets ``headwater_consumer_lag`` for the partitions this worker is assigned (so
    the workers of a group add up, never count one partition twice) and removes the
    series of partitions it no longer has."""

    def __init__(self, settings: Settings, stages: Mapping[str, Sequence[str]]) -> None:
        self._settings = settings
        self._stage_of = {topic: stage for stage, topics in stages.items() for topic in topics}
        self._reported: set[tuple[str, str, str]] = set()

    async def update(self, assigned: set[tuple[str, int]] | None) -> None:
        """Read the lag now; ``assigned``: (topic, partition) this worker reads (None:
        report every partition)."""
        settings = self._settings
        try:
            found = await group_lag(settings, settings.worker_id, list(self._stage_of))
        except HeadwaterError as exc:
            log.warning("consumer lag not read: %s", exc)
            return
        seen = set()
        for lag in found:
            if assigned is not None and (lag.topic, lag.partition) not in assigned:
                continue
            topic = logical_topic(settings.topic_prefix, lag.topic)
            labels = (self._stage_of[lag.topic], topic, str(lag.partition))
            CONSUMER_LAG.labels(*labels).set(lag.lag)
            seen.add(labels)
        for gone in self._reported - seen:
            CONSUMER_LAG.remove(*gone)
        self._reported = seen


def assigned_partitions(app: Any) -> set[tuple[str, int]] | None:
    """The (topic, partition) pairs Faust's consumer holds now; None when unknown."""
    try:
        return {(tp.topic, tp.partition) for tp in app.consumer.assignment()}
    except Exception:  # not started yet, or no consumer: report every partition
        return None


class OutboundObserved:
    """Outbound attempts (ok, retry, failed), retries and open breakers. A breaker's
    ``destination`` label is a server the operator configured (the transports'
    defaults: SMTP, MQTT, AMQP servers, ``kafka``); every destination a flow chose
    itself (an HTTP host, a target's own host) counts under ``<kind>:other``."""

    def __init__(self, transports: Mapping[str, Transport]) -> None:
        self._configured: set[str] = set()
        for kind, transport in transports.items():
            try:
                self._configured.add(transport.destination(replace(_DEFAULT, kind=kind)))
            except (HeadwaterError, ValueError, TypeError):  # no default: e.g. HTTP
                continue
        self._kind_of: dict[str, str] = {}  # destination -> its kind

    def attempt(self, kind: str, outcome: str) -> None:
        OUTBOUND_ATTEMPTS.labels(kind, outcome).inc()
        if outcome == "retry":
            OUTBOUND_RETRIES.labels(kind).inc()

    def label(self, kind: str, destination: str) -> str:
        return destination if destination in self._configured else f"{kind}:other"

    def breakers(
        self, kind: str, changed: str, breakers: Mapping[str, CircuitBreaker], now: float
    ) -> None:
        """Set the open-breaker gauge of ``kind`` after the breaker of ``changed`` moved."""
        self._kind_of[changed] = kind
        counts: dict[str, int] = {}
        for destination, breaker in breakers.items():
            if self._kind_of.get(destination) != kind:
                continue
            label = self.label(kind, destination)
            is_open = breaker.state(now) is not BreakerState.CLOSED
            counts[label] = counts.get(label, 0) + int(is_open)
        for label, count in counts.items():
            OUTBOUND_BREAKER_OPEN.labels(kind, label).set(count)
