"""Publish to an MQTT broker (the local Mosquitto by default) with aiomqtt."""

from __future__ import annotations

import aiomqtt

from headwater.adapters.outbound.addresses import AddressGuard
from headwater.adapters.outbound.base import ServerTransport, body_bytes, target_text
from headwater.core.flows.state import OutboundRequest
from headwater.errors import DeliveryFailed
from headwater.settings import Settings

__all__ = ["MqttTransport"]


class MqttTransport(ServerTransport):
    """``target``: ``topic``, optional ``qos`` (0-2, default 1), ``retain``, ``host`` and
    ``port``. One connection per publish: simple, and nothing to repair after an outage."""

    scheme = "mqtt"

    def __init__(self, settings: Settings, guard: AddressGuard | None = None) -> None:
        super().__init__(
            settings.outbound_mqtt_host,
            settings.outbound_mqtt_port,
            settings.outbound_timeout,
            guard or AddressGuard(settings),
        )

    async def send(self, request: OutboundRequest) -> None:
        topic = target_text(request, "topic")
        qos = request.target.get("qos", 1)
        if qos not in (0, 1, 2):
            raise DeliveryFailed(f"mqtt qos must be 0, 1 or 2, not {qos!r}", retryable=False)
        host, _ = self._server(request)
        address, port = await self._address(request)
        try:
            async with aiomqtt.Client(address, port, timeout=self._timeout) as client:
                await client.publish(
                    topic, body_bytes(request), qos=qos, retain=bool(request.target.get("retain"))
                )
        except aiomqtt.MqttError as exc:
            raise DeliveryFailed(f"mqtt {host}:{port}: {exc}", retryable=True) from exc
