"""Bridges in tests: their configuration as the private API writes it, a bridge process
run in the test's loop, and publishers for the channel servers."""

from __future__ import annotations

import asyncio
import imaplib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import aiomqtt

from headwater.bridges.pipeline import BridgeStats
from headwater.bridges.process import BridgeProcess
from headwater.core.bridge_config import BRIDGE_KIND
from headwater.core.config import ConfigEntry
from headwater.core.ports.search import SearchStore
from headwater.core.tenancy import events_alias
from headwater.schemas import DEAD_LETTER
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer
from headwater.streams.topics import Topics
from tests.support.channels import AmqpServer, ImapServer, MqttServer
from tests.support.kafka import read_topic
from tests.support.polling import eventually

__all__ = [
    "amqp_bridge",
    "append_mail",
    "dead_letters",
    "imap_bridge",
    "imap_flags",
    "mqtt_bridge",
    "publish_amqp",
    "publish_bridge",
    "publish_mqtt",
    "running_bridges",
    "stored_events",
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


def imap_bridge(
    server: ImapServer, password_sealed: str, folder: str, **mapping: Any
) -> dict[str, Any]:
    """An IMAP bridge watching ``folder`` (its password sealed with the test's key)."""
    return {
        "name": "test imap",
        "channel": "imap",
        "connection": {
            "url": f"imap://{server.host}:{server.port}",
            "username": server.user,
            "password_sealed": password_sealed,
        },
        "subscription": {"folder": folder, "headers": ["X-Customer"]},
        "mapping": mapping,
    }


def _imap(server: ImapServer) -> imaplib.IMAP4:
    client = imaplib.IMAP4(server.host, server.port, timeout=10)
    client.login(server.user, server.password)
    return client


async def append_mail(server: ImapServer, folder: str, messages: Iterable[bytes]) -> None:
    """APPEND the raw messages to ``folder`` (made when missing), unseen."""

    def append() -> None:
        client = _imap(server)
        try:
            client.create(f'"{folder}"')
            for raw in messages:
                status, data = client.append(f'"{folder}"', None, None, raw)
                assert status == "OK", data
        finally:
            client.logout()

    await asyncio.to_thread(append)


async def imap_flags(server: ImapServer, folder: str) -> list[str]:
    """The flags of every message in ``folder``, in order (one string each)."""

    def flags() -> list[str]:
        client = _imap(server)
        try:
            status, count = client.select(f'"{folder}"', readonly=True)
            assert status == "OK", count
            if count[0] == b"0":
                return []
            _, data = client.fetch("1:*", "(FLAGS)")
            return [d.decode() for d in data if isinstance(d, bytes)]
        finally:
            client.logout()

    return await asyncio.to_thread(flags)


async def stored_events(
    store: SearchStore, settings: Settings, bridge_id: str, count: int
) -> list[dict[str, Any]]:
    """The events of ``bridge_id`` in search, once there are ``count`` of them."""
    alias = events_alias(settings.index_prefix, "default", "production")
    query = {"term": {"source.id": bridge_id}}
    found: list[dict[str, Any]] = []

    async def enough() -> bool:
        await store.refresh(alias)
        hits = (await store.search(alias, query=query, size=count + 10))["hits"]["hits"]
        found[:] = [h["_source"] for h in hits]
        return len(found) >= count

    await eventually(enough, timeout=60, every=0.3)
    return found


async def dead_letters(settings: Settings, bridge_id: str, count: int) -> list[dict[str, Any]]:
    """The dead letters of ``bridge_id``, once there are ``count`` of them."""
    records = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).deadletter,
        DEAD_LETTER,
        until=lambda rs: sum(r["key"] == bridge_id.encode() for r in rs) >= count,
        timeout=30,
    )
    return [r for r in records if r["key"] == bridge_id.encode()]


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


async def connected(
    process: BridgeProcess,
    bridge_id: str,
    replacing: BridgeStats | None = None,
    timeout: float = 30,
) -> None:
    """Wait until the bridge is connected; with ``replacing`` (its stats taken *before*
    its configuration changed), a new run of it. Taking them after the change would race
    with the process, which may have restarted the bridge already: then they would be
    the new run's, and the wait would never end."""

    async def up() -> bool:
        stats = process.stats.get(bridge_id)
        return stats is not None and stats is not replacing and stats.state == "connected"

    await eventually(up, timeout=timeout)


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
