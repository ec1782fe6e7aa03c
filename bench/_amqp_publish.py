"""A lean AMQP 0-9-1 publisher for the bench: messages marshalled before the clock
starts, written in runs on one channel with publisher confirms, at most ``window``
unconfirmed (RabbitMQ confirms in bunches, ``multiple``).

aio-pika's publisher costs more CPU per message than the bridge it feeds (a Message
object, a lock, a future and a task each), and on a shared 2-core machine that CPU is
taken from the broker and the bridge: the bridge's live rate was the publisher's. This
one, like wrk for the collector, costs little, so the live figure says what the broker,
the bridge and Kafka do. pamqp (aiormq's codec) marshals the frames.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from pamqp import commands, frame, header
from pamqp.body import ContentBody
from pamqp.heartbeat import Heartbeat

__all__ = ["AmqpPublisher"]

_FRAME_HEADER = struct.Struct(">BHI")
_CHANNEL = 1


class AmqpPublisher:
    def __init__(self, url: str) -> None:
        self._url = urlsplit(url)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._frame_max = 131072
        self.confirmed = 0  # every delivery tag up to this one is settled
        self._singles: set[int] = set()  # tags settled one by one above it
        self._progress = asyncio.Event()
        self._nacked = 0

    async def __aenter__(self) -> AmqpPublisher:
        url = self._url
        self._reader, self._writer = await asyncio.open_connection(url.hostname, url.port or 5672)
        self._writer.write(header.ProtocolHeader().marshal())
        await self._expect(commands.Connection.Start)
        user, password = unquote(url.username or "guest"), unquote(url.password or "guest")
        self._send(commands.Connection.StartOk(response=f"\0{user}\0{password}"), 0)
        tune = await self._expect(commands.Connection.Tune)
        self._frame_max = tune.frame_max or self._frame_max
        self._send(commands.Connection.TuneOk(tune.channel_max, self._frame_max, 0), 0)
        vhost = unquote(url.path[1:]) if len(url.path) > 1 else "/"
        self._send(commands.Connection.Open(virtual_host=vhost), 0)
        await self._expect(commands.Connection.OpenOk)
        self._send(commands.Channel.Open(), _CHANNEL)
        await self._expect(commands.Channel.OpenOk)
        self._send(commands.Confirm.Select(), _CHANNEL)
        await self._expect(commands.Confirm.SelectOk)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._writer is not None:
            self._send(
                commands.Connection.Close(
                    reply_code=200, reply_text="bye", class_id=0, method_id=0
                ),
                0,
            )
            try:
                await asyncio.wait_for(self._expect(commands.Connection.CloseOk), 5)
            finally:
                self._writer.close()

    def marshal(self, exchange: str, routing_key: str, bodies: Iterable[bytes]) -> list[bytes]:
        """Each message's frames as one bytes (before the clock starts)."""
        publish = frame.marshal(
            commands.Basic.Publish(exchange=exchange, routing_key=routing_key), _CHANNEL
        )
        properties = commands.Basic.Properties(delivery_mode=1)
        marshalled = []
        for body in bodies:
            if len(body) > self._frame_max - 8:
                raise ValueError("the bench publishes each body in one frame")
            content = header.ContentHeader(0, len(body), properties)
            marshalled.append(
                publish
                + frame.marshal(content, _CHANNEL)
                + frame.marshal(ContentBody(body), _CHANNEL)
            )
        return marshalled

    async def publish(self, messages: list[bytes], window: int) -> None:
        """Write ``messages`` with at most ``window`` unconfirmed; return when the broker
        confirmed them all (raises if it refused any)."""
        assert self._writer is not None
        sent, base = 0, self.confirmed
        confirming = asyncio.ensure_future(self._confirm(base + len(messages)))
        try:
            while sent < len(messages):
                room = window - (sent - (self.confirmed - base))
                if room > 0:
                    self._writer.write(b"".join(messages[sent : sent + room]))
                    sent += len(messages[sent : sent + room])
                    await self._writer.drain()
                    continue
                self._progress.clear()
                progress = asyncio.ensure_future(self._progress.wait())
                await asyncio.wait([confirming, progress], return_when=asyncio.FIRST_COMPLETED)
                progress.cancel()
                if confirming.done():
                    confirming.result()  # what ended it early
            await confirming
        finally:
            confirming.cancel()
        if self._nacked:
            raise RuntimeError(f"the broker refused {self._nacked} messages")

    async def _confirm(self, last: int) -> None:
        """Read Basic.Ack / Basic.Nack frames until every tag up to ``last`` is settled
        (``confirmed``: the highest tag up to which all are)."""
        while self.confirmed < last:
            reply = await self._frame()
            if isinstance(reply, commands.Basic.Ack | commands.Basic.Nack):
                tag = reply.delivery_tag
                if isinstance(reply, commands.Basic.Nack):
                    self._nacked += tag - self.confirmed if reply.multiple else 1
                if reply.multiple:
                    self.confirmed = max(self.confirmed, tag)
                else:
                    self._singles.add(tag)
                while self.confirmed + 1 in self._singles:
                    self._singles.remove(self.confirmed + 1)
                    self.confirmed += 1
                self._progress.set()
            elif isinstance(reply, commands.Channel.Close | commands.Connection.Close):
                raise RuntimeError(f"the broker closed: {reply.reply_text}")

    def _send(self, value: frame.FrameTypes, channel: int) -> None:
        assert self._writer is not None
        self._writer.write(frame.marshal(value, channel))

    async def _expect(self, kind: type) -> object:
        while True:
            value = await self._frame()
            if isinstance(value, kind):
                return value
            if isinstance(value, commands.Channel.Close | commands.Connection.Close):
                raise RuntimeError(f"the broker closed: {value.reply_text}")

    async def _frame(self) -> object:
        assert self._reader is not None
        while True:
            head = await self._reader.readexactly(_FRAME_HEADER.size)
            _, _, size = _FRAME_HEADER.unpack(head)
            rest = await self._reader.readexactly(size + 1)
            _, _, value = frame.unmarshal(head + rest)
            if not isinstance(value, Heartbeat):
                return value
