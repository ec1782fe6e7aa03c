"""The AMQP bridge's consuming without aio-pika (bridges/amqp.py): what the mapping reads
of an aiormq delivery, and deliveries submitted in the order they came until the channel
closes."""

from __future__ import annotations

import asyncio
from typing import Any

import aiormq
import pytest
from aiormq.abc import DeliveredMessage
from aiormq.exceptions import ChannelClosed
from pamqp import commands
from pamqp.header import ContentHeader

from headwater.bridges.amqp import AmqpRunner, _Deliveries, channel_message
from headwater.core.bridge_config import Bridge
from headwater.settings import load_settings


def _delivery(tag: int, body: bytes = b"{}", **properties: Any) -> DeliveredMessage:
    deliver = commands.Basic.Deliver(
        consumer_tag="ctag", delivery_tag=tag, exchange="amq.topic", routing_key="orders.paid"
    )
    header = ContentHeader(0, len(body), commands.Basic.Properties(**properties))
    return DeliveredMessage(delivery=deliver, header=header, body=body, channel=None)  # type: ignore[arg-type]


def test_a_delivery_gives_its_body_routing_key_headers_and_message_id() -> None:
    headers = {"x-customer": "c1", "x-raw": b"\xffid", "x-count": 3}
    message = channel_message(_delivery(7, b'{"a":1}', headers=headers, message_id="o1"))

    assert message.body == b'{"a":1}'
    assert (message.topic, message.separator) == ("orders.paid", ".")
    assert message.message_id == "o1"
    # bytes (a header that is not text) become text, with what cannot be decoded replaced
    assert message.headers == {"x-customer": "c1", "x-raw": "\ufffdid", "x-count": 3}
    assert message.received_at > 0


def test_a_delivery_without_properties_has_no_headers_and_no_message_id() -> None:
    message = channel_message(_delivery(1))
    assert (message.headers, message.message_id) == ({}, None)


class _Channel:
    def __init__(self) -> None:
        self.closing: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.on_consumer_cancel_callbacks: set[Any] = set()


class _Pipeline:
    def __init__(self, hold: asyncio.Event | None = None) -> None:
        self.taken: list[tuple[bytes, int]] = []
        self._hold = hold

    async def submit(self, message: Any, tag: int) -> None:
        if self._hold is not None:
            await self._hold.wait()  # the window is full: Kafka is slow
        self.taken.append((message.body, tag))


async def test_deliveries_are_submitted_in_the_order_they_came_with_their_tags() -> None:
    channel = _Channel()
    deliveries = _Deliveries(channel)  # type: ignore[arg-type]
    hold = asyncio.Event()
    pipeline = _Pipeline(hold)
    consuming = asyncio.create_task(deliveries.submit_to(pipeline))  # type: ignore[arg-type]
    # as aiormq does: a task per delivery, some while the pipeline waits for room
    for tag in range(1, 6):
        await asyncio.create_task(deliveries.arrived(_delivery(tag, b"%d" % tag)))
    hold.set()
    arriving = [asyncio.create_task(deliveries.arrived(_delivery(t, b"%d" % t))) for t in (6, 7, 8)]
    await asyncio.gather(*arriving)
    for _ in range(10):  # a few loop turns: the consuming loop takes what arrived
        await asyncio.sleep(0)
    assert pipeline.taken == [(b"%d" % tag, tag) for tag in range(1, 9)]
    consuming.cancel()


async def test_a_closed_channel_ends_the_consuming_with_what_closed_it() -> None:
    channel = _Channel()
    deliveries = _Deliveries(channel)  # type: ignore[arg-type]
    pipeline = _Pipeline()
    consuming = asyncio.create_task(deliveries.submit_to(pipeline))  # type: ignore[arg-type]
    await deliveries.arrived(_delivery(1))
    channel.closing.set_exception(ChannelClosed(320, "CONNECTION_FORCED"))
    with pytest.raises(ChannelClosed):
        await asyncio.wait_for(consuming, 5)
    assert pipeline.taken == [(b"{}", 1)]  # what came before the close was taken


async def test_a_channel_closed_without_a_reason_still_ends_the_consuming() -> None:
    channel = _Channel()
    deliveries = _Deliveries(channel)  # type: ignore[arg-type]
    consuming = asyncio.create_task(deliveries.submit_to(_Pipeline()))  # type: ignore[arg-type]
    channel.closing.cancel()  # aiormq closes with CancelledError on a normal close
    with pytest.raises(ConnectionError, match="channel was closed"):
        await asyncio.wait_for(consuming, 5)


async def test_a_consumer_the_broker_cancelled_ends_the_consuming() -> None:
    channel = _Channel()
    deliveries = _Deliveries(channel)  # type: ignore[arg-type]
    consuming = asyncio.create_task(deliveries.submit_to(_Pipeline()))  # type: ignore[arg-type]
    for callback in channel.on_consumer_cancel_callbacks:  # as aiormq calls them
        callback(commands.Basic.Cancel(consumer_tag="ctag"))
    with pytest.raises(ConnectionError, match="cancelled the consumer"):
        await asyncio.wait_for(consuming, 5)
    assert not channel.closing.done()  # the channel itself stays open


@pytest.mark.parametrize(
    ("url", "port", "vhost"),
    [
        ("amqp://rabbit.example:5673/", 5673, "/"),
        ("amqps://rabbit.example/prod%2Fa", 5671, "prod/a"),  # TLS: its default port
        ("amqp://rabbit.example", 5672, "/"),
    ],
)
async def test_the_connection_keeps_reserved_characters_of_credentials_and_the_vhost(
    url: str, port: int, vhost: str
) -> None:
    bridge = Bridge.model_validate(
        {
            "id": "b1",
            "tenant": "default",
            "env": "production",
            "name": "orders",
            "channel": "amqp",
            "connection": {"url": url, "username": "ops@site"},
            "subscription": {"queue": "orders"},
            "mapping": {"event_type": "value:order"},
        }
    )
    runner = AmqpRunner(bridge, "p@ss/w:rd%", None, load_settings())  # type: ignore[arg-type]
    connection = aiormq.Connection(runner._url())  # what aiormq.connect reads (no I/O)
    assert (connection.url.user, connection.url.password) == ("ops@site", "p@ss/w:rd%")
    assert (connection.url.scheme == "amqps", connection.url.port) == (url[4] == "s", port)
    assert connection.vhost == vhost
