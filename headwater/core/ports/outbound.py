"""What the destinations agent needs from a transport (HTTP, Kafka, MQTT, AMQP, email);
the transports themselves are in ``headwater/adapters/outbound/``."""

from __future__ import annotations

from typing import Protocol

from headwater.core.flows.state import OutboundRequest

__all__ = ["Transport"]


class Transport(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def destination(self, request: OutboundRequest) -> str:
        """Whose breaker the request goes through: the host for HTTP, the server else.
        Never holds credentials."""
        ...

    async def send(self, request: OutboundRequest) -> None:
        """Perform the request once; raise ``DeliveryFailed`` if it did not happen."""
        ...
