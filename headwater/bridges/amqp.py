"""AMQP bridge (aio-pika, RabbitMQ): one queue, manual acknowledgements, a prefetch limit.

A delivery is acknowledged once Kafka acknowledged its intake record (or, when it can
never become an event, once its dead letter is stored); what was not acknowledged when
the connection ends is delivered again by the broker. ``declare`` makes the queue
(durable) and its bindings; otherwise the queue must exist.
"""

from __future__ import annotations

import time
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractQueueIterator

from headwater.bridges.pipeline import Pipeline
from headwater.bridges.runner import ChannelRunner
from headwater.core.bridge_mapping import ChannelMessage

__all__ = ["AmqpRunner"]


class AmqpRunner(ChannelRunner):
    async def session(self) -> None:
        connection = self.bridge.connection
        client = await aio_pika.connect(
            host=connection.host,
            port=connection.port or (5671 if connection.tls else 5672),
            login=connection.username or "guest",
            password=self._password or "guest",
            virtualhost=connection.virtual_host,
            ssl=connection.tls,
            timeout=10,
        )
        async with client:
            channel = await client.channel()
            await channel.set_qos(prefetch_count=self.bridge.subscription.prefetch)
            queue = await self._queue(channel)

            async def ack(messages: list[AbstractIncomingMessage]) -> None:
                # one frame for all: they are the oldest unacknowledged on this channel
                await messages[-1].ack(multiple=len(messages) > 1)

            pipeline = self.pipeline(ack)
            try:
                async with queue.iterator() as messages:
                    await pipeline.run(self._consume(messages, pipeline))
            finally:
                await pipeline.close()

    async def _queue(self, channel: aio_pika.abc.AbstractChannel) -> AbstractQueue:
        subscription = self.bridge.subscription
        name = subscription.queue or ""
        if not subscription.declare:
            return await channel.declare_queue(name, passive=True)
        queue = await channel.declare_queue(name, durable=True)
        for binding in subscription.bindings:
            exchange, _, routing_key = binding.partition(":")
            await queue.bind(exchange, routing_key)
        return queue

    async def _consume(
        self, messages: AbstractQueueIterator, pipeline: Pipeline[AbstractIncomingMessage]
    ) -> None:
        async for message in messages:
            await pipeline.submit(_channel_message(message), message)


def _text(value: Any) -> Any:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _channel_message(message: AbstractIncomingMessage) -> ChannelMessage:
    return ChannelMessage(
        body=message.body,
        topic=message.routing_key or "",
        received_at=time.time_ns() // 1_000_000,
        separator=".",
        headers={str(k): _text(v) for k, v in (message.headers or {}).items()},
        message_id=message.message_id,
    )
