"""Bridges in tests: their configuration as the private API writes it, a bridge process
run in the test's loop, and publishers for the channel servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import aiomqtt

from headwater.bridges.process import BridgeProcess
from headwater.core.bridge_config import BRIDGE_KIND
from headwater.core.config import ConfigEntry
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer
from tests.support.channels import AmqpServer, MqttServer
from tests.support.polling import eventually

__all__ = [
    "amqp_bridge",
    "mqtt_bridge",
    "publish_amqp",
    "publish_bridge",
    "publish_mqtt",
    "running_bridges",
]


def mqtt_bridge(server: MqttServer, topics: list[str], **mapping: Any) -> dict[str, Any]:
    return {
        "name": "test mqtt",
        "channel": "mqtt",
        "connection": {"url": f"mqtt://{server.host}:{server.port}"},
        "subscription": {"topics": topics},
        "mapping": mapping,
    }


def amqp_bridge(
    server: AmqpServer, queue: str, bindings: list[str], **mapping: Any
) -> dict[str, Any]:
    return {
        "name": "test amqp",
        "channel": "amqp",
        "connection": {"url": f"amqp://{server.host}:{server.port}/", "username": "guest"},
        "subscription": {"queue": queue, "declare": True, "bindings": bindings},
        "mapping": mapping,
    }


async def publish_bridge(
    settings: Settings, bridge_id: str, data: dict[str, Any], version: int = 1
) -> ConfigEntry:
    """Store a bridge of tenant ``default`` in the settings' environment."""
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    try:
        return await ConfigPublisher(settings, AvroCodec.default(), producer).publish(
            kind=BRIDGE_KIND,
            tenant="default",
            env=settings.env,
            entity_id=bridge_id,
            data=data,
            version=version,
            updated_by="test",
        )
    finally:
        await producer.stop()


@asynccontextmanager
async def running_bridges(settings: Settings, channel: str) -> AsyncIterator[BridgeProcess]:
    """A ``headwater bridge CHANNEL`` process's bridges, in this loop."""
    process = BridgeProcess(settings, channel)
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


async def connected(process: BridgeProcess, bridge_id: str, restarted: bool = False) -> None:
    """Wait until the bridge is connected (``restarted``: a new run of it, after its
    configuration changed)."""
    before = process.stats.get(bridge_id) if restarted else None

    async def up() -> bool:
        stats = process.stats.get(bridge_id)
        return stats is not None and stats is not before and stats.state == "connected"

    await eventually(up, timeout=30)


async def publish_mqtt(server: MqttServer, messages: Iterable[tuple[str, bytes]]) -> None:
    """Publish at QoS 1: each is acknowledged by the broker."""
    async with aiomqtt.Client(server.host, server.port) as client:
        for topic, body in messages:
            await client.publish(topic, body, qos=1)


async def publish_amqp(
    server: AmqpServer, exchange: str, messages: Iterable[tuple[str, bytes, dict[str, Any]]]
) -> None:
    """Publish with confirms: (routing key, body, message properties) each."""
    connection = await aio_pika.connect(server.url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        target = await channel.get_exchange(exchange)
        for routing_key, body, properties in messages:
            await target.publish(aio_pika.Message(body, **properties), routing_key=routing_key)
