"""The one interface every outbound transport implements, and the set the agent uses."""

from __future__ import annotations

from typing import Any, Protocol

from headwater.core.flows.state import OutboundRequest
from headwater.errors import DeliveryFailed
from headwater.settings import Settings
from headwater.streams.kafka import AckedProducer

__all__ = ["Transport", "build_transports", "target_text"]


class Transport(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def destination(self, request: OutboundRequest) -> str:
        """Whose breaker the request goes through: the host for HTTP, the server else.
        Never holds credentials."""
        ...

    async def send(self, request: OutboundRequest) -> None:
        """Perform the request once; raise :class:`DeliveryFailed` if it did not happen."""
        ...


def target_text(request: OutboundRequest, name: str, default: str | None = None) -> str:
    """A string field of the request's target; a missing one fails for good."""
    value: Any = request.target.get(name, default)
    if not isinstance(value, str) or not value:
        raise DeliveryFailed(f"{request.kind} target needs a {name!r} string", retryable=False)
    return value


def body_bytes(request: OutboundRequest) -> bytes:
    """The body as it travels on brokers: its UTF-8 JSON form."""
    import orjson

    return orjson.dumps(request.body)


def build_transports(settings: Settings, producer: AckedProducer) -> dict[str, Transport]:
    from headwater.infra.outbound.amqp import AmqpTransport
    from headwater.infra.outbound.http import HttpTransport
    from headwater.infra.outbound.kafka import KafkaTransport
    from headwater.infra.outbound.mqtt import MqttTransport
    from headwater.infra.outbound.smtp import SmtpTransport

    return {
        "http": HttpTransport(settings),
        "kafka": KafkaTransport(producer),
        "mqtt": MqttTransport(settings),
        "amqp": AmqpTransport(settings),
        "email": SmtpTransport(settings),
    }
