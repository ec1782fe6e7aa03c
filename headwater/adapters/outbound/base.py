"""What the transports share, and the set of them the destinations agent uses (the
interface they implement is :class:`headwater.core.ports.outbound.Transport`)."""

from __future__ import annotations

from typing import Any

from headwater.adapters.outbound.addresses import AddressGuard
from headwater.core.flows.state import OutboundRequest
from headwater.core.ports.outbound import Transport
from headwater.errors import DeliveryFailed
from headwater.settings import Settings
from headwater.streams.kafka import AckedProducer

__all__ = ["ServerTransport", "body_bytes", "build_transports", "target_text"]


class ServerTransport:
    """A transport that opens one connection per request to a host and port: the
    configured default, or the request target's ``host``/``port``. A target's own host
    or port goes through the address policy (:class:`AddressGuard`) first; the
    configured default is the operator's and is used as it is. Nothing is opened ahead
    of time and nothing stays open."""

    scheme = "server"  # names the breaker: ``<scheme>:<host>:<port>``

    def __init__(self, host: str, port: int, timeout: float, guard: AddressGuard) -> None:
        self._host = host
        self._port = port
        self._timeout = timeout
        self._guard = guard

    async def start(self) -> None:
        """Nothing to open ahead of time."""

    async def close(self) -> None:
        """Nothing stays open."""

    def _server(self, request: OutboundRequest) -> tuple[str, int]:
        host = request.target.get("host", self._host)
        port = request.target.get("port", self._port)
        if not isinstance(host, str) or not isinstance(port, int) or isinstance(port, bool):
            raise DeliveryFailed(
                f"{request.kind} target host/port must be a string and a number",
                retryable=False,
            )
        return host, port

    async def _address(self, request: OutboundRequest) -> tuple[str, int]:
        """The host (checked address when the target chose it) and port to connect to."""
        host, port = self._server(request)
        if "host" not in request.target and "port" not in request.target:
            return host, port
        return str(await self._guard.pinned(host, port)), port

    def destination(self, request: OutboundRequest) -> str:
        host, port = self._server(request)
        return f"{self.scheme}:{host}:{port}"


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
    from headwater.adapters.outbound.amqp import AmqpTransport
    from headwater.adapters.outbound.http import HttpTransport
    from headwater.adapters.outbound.kafka import KafkaTransport
    from headwater.adapters.outbound.mqtt import MqttTransport
    from headwater.adapters.outbound.smtp import SmtpTransport

    guard = AddressGuard(settings)
    return {
        "http": HttpTransport(settings, guard),
        "kafka": KafkaTransport(producer),
        "mqtt": MqttTransport(settings, guard),
        "amqp": AmqpTransport(settings),
        "email": SmtpTransport(settings, guard),
    }
