"""Publish to a Kafka topic of the same cluster with the acks=all producer."""

from __future__ import annotations

from headwater.adapters.outbound.base import body_bytes, target_text
from headwater.core.flows.state import OutboundRequest
from headwater.errors import BrokerUnavailable, DeliveryFailed
from headwater.streams.kafka import AckedProducer

__all__ = ["KafkaTransport"]


class KafkaTransport:
    """``target``: ``topic`` and an optional ``key``; the value is the body as JSON."""

    def __init__(self, producer: AckedProducer) -> None:
        self._producer = producer

    async def start(self) -> None:
        """The producer is the agent's; it starts and stops it."""

    async def close(self) -> None:
        """See :meth:`start`."""

    def destination(self, request: OutboundRequest) -> str:
        return "kafka"

    async def send(self, request: OutboundRequest) -> None:
        topic = target_text(request, "topic")
        key = request.target.get("key")
        try:
            await self._producer.send(
                topic, body_bytes(request), str(key).encode() if key is not None else None
            )
        except BrokerUnavailable as exc:
            raise DeliveryFailed(f"kafka topic {topic}: {exc}", retryable=True) from exc
