"""Publish to RabbitMQ (AMQP 0-9-1) with aio-pika, with publisher confirms."""

from __future__ import annotations

from urllib.parse import urlsplit

import aio_pika
import aio_pika.exceptions
import aiormq.exceptions

from headwater.adapters.outbound.base import body_bytes, target_text
from headwater.core.flows.state import OutboundRequest
from headwater.errors import DeliveryFailed
from headwater.settings import Settings

__all__ = ["AmqpTransport"]


class AmqpTransport:
    """``target``: ``exchange`` ("" or absent: the default exchange) and ``routing_key``.
    The server is HEADWATER_OUTBOUND_AMQP_URL (its credentials never reach a log)."""

    def __init__(self, settings: Settings) -> None:
        self._url = settings.outbound_amqp_url
        self._timeout = settings.outbound_timeout
        parts = urlsplit(self._url.get_secret_value())
        self._server = f"amqp:{parts.hostname}:{parts.port or 5672}"

    async def start(self) -> None:
        """Nothing to open ahead of time."""

    async def close(self) -> None:
        """Nothing stays open: one connection per publish."""

    def destination(self, request: OutboundRequest) -> str:
        return self._server

    async def send(self, request: OutboundRequest) -> None:
        exchange_name = request.target.get("exchange") or ""
        if not isinstance(exchange_name, str):
            raise DeliveryFailed("amqp target exchange must be a string", retryable=False)
        routing_key = target_text(request, "routing_key")
        message = aio_pika.Message(
            body_bytes(request),
            content_type="application/json",
            message_id=request.idempotency_key,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            connection = await aio_pika.connect(self._url.get_secret_value(), timeout=self._timeout)
            async with connection:
                channel = await connection.channel(publisher_confirms=True)
                if exchange_name:
                    exchange = await channel.get_exchange(exchange_name, ensure=True)
                else:
                    exchange = channel.default_exchange
                await exchange.publish(message, routing_key=routing_key, timeout=self._timeout)
        except aiormq.exceptions.ChannelNotFoundEntity as exc:
            raise DeliveryFailed(
                f"amqp exchange {exchange_name!r} does not exist", retryable=False
            ) from exc
        except (aio_pika.exceptions.AMQPError, OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"{self._server}: {type(exc).__name__}", retryable=True) from exc
