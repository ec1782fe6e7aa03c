"""AMQP bridge (aiormq, RabbitMQ): one queue, manual acknowledgements, a prefetch limit.

A delivery is acknowledged once Kafka acknowledged its intake record (or, when it can
never become an event, once its dead letter is stored); what was not acknowledged when
the connection ends is delivered again by the broker. ``declare`` makes the queue
(durable) and its bindings; otherwise the queue must exist.

The bridge consumes with aiormq, the protocol client aio-pika is built on, without
aio-pika's message objects and queue iterator (their per-message cost was about a tenth
of the bridge's CPU, docs/performance.md): aiormq hands each delivery to a callback that
only queues it; the consuming loop submits what has arrived, in the order it came, and
acknowledges with one ``basic.ack`` (``multiple``) per settled run.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

import aiormq
from aiormq.abc import AbstractChannel, DeliveredMessage
from yarl import URL

from headwater.bridges.pipeline import Pipeline
from headwater.bridges.runner import ChannelRunner
from headwater.core.bridge_mapping import ChannelMessage

__all__ = ["AmqpRunner"]

CONNECT_TIMEOUT = 10.0  # seconds for the TCP/TLS connection and the AMQP handshake


class AmqpRunner(ChannelRunner):
    async def session(self) -> None:
        client = await asyncio.wait_for(aiormq.connect(self._url()), CONNECT_TIMEOUT)
        try:
            prefetch = self.bridge.subscription.prefetch
            # the frames of up to ``prefetch`` deliveries (3 each: method, header, body)
            # wait for the channel's reader without stopping the connection's (aiormq's
            # default, 10, makes the two take turns every few deliveries: ~10% more CPU)
            channel = await client.channel(publisher_confirms=False, frame_buffer_size=3 * prefetch)
            await channel.basic_qos(prefetch_count=prefetch)
            queue = await self._queue(channel)
            deliveries = _Deliveries(channel)

            async def ack(tags: list[int]) -> None:
                # one frame for all: they are the oldest unacknowledged on this channel
                await channel.basic_ack(tags[-1], multiple=len(tags) > 1)

            pipeline = self.pipeline(ack)
            try:
                await channel.basic_consume(queue, deliveries.arrived, no_ack=False)
                await pipeline.run(deliveries.submit_to(pipeline))
            finally:
                await pipeline.close()
        finally:
            await client.close()

    def _url(self) -> URL:
        connection = self.bridge.connection
        return URL.build(
            scheme="amqps" if connection.tls else "amqp",
            host=connection.host,
            port=connection.port or (5671 if connection.tls else 5672),
            user=connection.username or "guest",
            password=self._password or "guest",
            path="/" + connection.virtual_host,  # aiormq reads the vhost after the "/"
        )

    async def _queue(self, channel: AbstractChannel) -> str:
        subscription = self.bridge.subscription
        name = subscription.queue or ""
        if not subscription.declare:
            await channel.queue_declare(name, passive=True)
            return name
        declared = await channel.queue_declare(name, durable=True)
        name = declared.queue or name
        for binding in subscription.bindings:
            exchange, _, routing_key = binding.partition(":")
            await channel.queue_bind(name, exchange, routing_key)
        return name


class _Deliveries:
    """The deliveries of one channel, in the order they came. aiormq runs the consumer
    callback as a task per delivery; each one only appends (in delivery order: the tasks
    start in the order they were made), so the loop of :meth:`submit_to` takes whatever
    has arrived in one go. The broker sends at most ``prefetch`` unacknowledged
    deliveries, which bounds what waits here."""

    def __init__(self, channel: AbstractChannel) -> None:
        self._waiting: deque[DeliveredMessage] = deque()
        self._more = asyncio.Event()
        self._closing = channel.closing
        self._closing.add_done_callback(lambda _: self._more.set())
        self._cancelled = False
        channel.on_consumer_cancel_callbacks.add(self._cancel)

    def _cancel(self, _: object) -> None:
        """The broker ended the consumer (its queue was deleted, ...): the channel stays
        open but nothing more comes, so the session ends and the bridge reconnects."""
        self._cancelled = True
        self._more.set()

    async def arrived(self, message: DeliveredMessage) -> None:
        self._waiting.append(message)
        self._more.set()

    async def submit_to(self, pipeline: Pipeline[int]) -> None:
        """Until the channel closes (then raise why): every delivery into the pipeline."""
        waiting = self._waiting
        while True:
            await self._more.wait()
            self._more.clear()
            while waiting:
                message = waiting.popleft()
                await pipeline.submit(channel_message(message), _tag(message))
            if self._cancelled:
                raise ConnectionError("the broker cancelled the consumer (queue deleted?)")
            if self._closing.done():
                closing = self._closing
                problem = None if closing.cancelled() else closing.exception()
                if isinstance(problem, Exception):  # what closed it, as aiormq said
                    raise problem
                raise ConnectionError("the channel was closed")


def _tag(message: DeliveredMessage) -> int:
    tag = message.delivery_tag
    if tag is None:  # never for a Basic.Deliver: it always has one
        raise ValueError("a delivery without a delivery tag")
    return tag


def _text(value: Any) -> Any:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def channel_message(message: DeliveredMessage) -> ChannelMessage:
    """What the mapping reads of a delivery: its body, routing key, headers (text where
    they came as bytes) and ``message-id`` property."""
    properties = message.header.properties
    headers = properties.headers
    return ChannelMessage(
        body=message.body,
        topic=message.routing_key or "",
        received_at=time.time_ns() // 1_000_000,
        separator=".",
        headers={str(k): _text(v) for k, v in headers.items()} if headers else {},
        message_id=properties.message_id,
    )
