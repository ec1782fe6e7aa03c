"""From channel messages to acknowledged intake records, with back-pressure.

Each message is mapped (``core/bridge_mapping.py``) and its intake record queued with
the worker's :class:`~headwater.streams.sender.RetryingSender`, which retries with
back-off while Kafka is away and never drops. The channel message is acknowledged only
once Kafka acknowledged its record, in the order the messages came (MQTT wants QoS 1
acknowledgements in order). A message that can never become an event is dead-lettered
with the reason, and then acknowledged.

At most ``window`` messages are between the channel and Kafka's acknowledgement:
:meth:`Pipeline.submit` waits while the window is full, so a bridge stops taking
messages from its channel while Kafka is down, instead of buffering them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from headwater.bridges.observed import observed_delivery, observed_redelivery, observed_refusal
from headwater.core.bridge_mapping import ChannelMessage, MessageMapper
from headwater.core.intake import Accepted
from headwater.errors import InputError, RecordRejected
from headwater.schemas import INTAKE_BATCH
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.sender import RetryingSender

__all__ = ["BridgeStats", "Intake", "Pipeline"]

log = logging.getLogger(__name__)

Token = TypeVar("Token")


@dataclass
class BridgeStats:
    """What a running bridge reports on its health endpoint."""

    channel: str
    where: str
    state: str = "starting"  # connecting, connected, reconnecting, stopped, invalid
    error: str | None = None
    delivered: int = 0  # intake records Kafka acknowledged
    dead_lettered: int = 0
    in_flight: int = 0  # taken from the channel, not yet acknowledged to it
    connects: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Intake:
    """Where every bridge of a process sends: the intake and dead-letter topics."""

    sender: RetryingSender
    codec: AvroCodec
    intake_topic: str
    deadletter_topic: str
    stage: str  # dead letters say which bridge process gave up: "bridge-mqtt"
    max_payload: int  # of a dead letter: a huge message is kept truncated
    _letters: DeadLetters | None = field(default=None, init=False)

    @property
    def letters(self) -> DeadLetters:
        if self._letters is None:
            self._letters = DeadLetters(self.codec, self.stage, self._dead_letter)
        return self._letters

    async def _dead_letter(self, key: bytes | None, value: bytes) -> None:
        await (await self.sender(self.deadletter_topic, key, value))

    async def send(self, accepted: Accepted) -> asyncio.Future[Any]:
        """Encode an intake batch and queue it; the future is Kafka's acknowledgement
        (RecordRejected when Kafka will never take it). ``headwater import`` sends
        through here too."""
        value = self.codec.encode(INTAKE_BATCH, accepted.record)
        return await self.sender(self.intake_topic, accepted.key, value)


@dataclass(frozen=True, slots=True)
class _Entry(Generic[Token]):
    sent: asyncio.Future[Any]  # Kafka's acknowledgement, or the dead letter's
    token: Token
    message: ChannelMessage
    event: bool  # an intake record (else a dead letter)


class Pipeline(Generic[Token]):
    """The messages of one channel connection. ``ack(tokens)`` acknowledges messages to
    their channel, in the order they came; it is never called for a message whose record
    Kafka has not taken."""

    def __init__(
        self,
        mapper: MessageMapper,
        intake: Intake,
        ack: Callable[[list[Token]], Awaitable[None]],
        window: int,
        stats: BridgeStats,
    ) -> None:
        self._mapper = mapper
        self._intake = intake
        self._ack = ack
        self._window = asyncio.Semaphore(window)
        self._entries: deque[_Entry[Token]] = deque()  # in arrival order
        self._more = asyncio.Event()
        self.open = 0  # taken and not yet acknowledged
        self._stats = stats
        self._accepting = asyncio.Event()
        self._accepting.set()
        self._acker = asyncio.create_task(self._ack_in_order(), name="bridge-acks")

    async def run(self, consuming: Awaitable[None]) -> None:
        """Run ``consuming`` (the loop that submits messages) until it ends or the
        acknowledgements fail (then it is cancelled and the failure raised)."""
        consumer = asyncio.ensure_future(consuming)
        try:
            await asyncio.wait({consumer, self._acker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not consumer.done():
                consumer.cancel()
                await asyncio.gather(consumer, return_exceptions=True)
        if not consumer.cancelled():
            consumer.result()  # raises what ended the connection
            return
        self._acker.result()
        raise RuntimeError("bridge acknowledgements stopped")

    async def submit(self, message: ChannelMessage, token: Token) -> None:
        """Take one message; waits while ``window`` messages await Kafka."""
        await self._accepting.wait()
        await self._window.acquire()
        self.open += 1
        self._stats.in_flight = self.open
        try:
            accepted = self._mapper(message)
        except InputError as exc:
            sent: asyncio.Future[Any] = asyncio.ensure_future(self._dead_letter(message, exc))
            self._entries.append(_Entry(sent, token, message, event=False))
            self._more.set()
            return
        sent = await self._intake.send(accepted)
        self._entries.append(_Entry(sent, token, message, event=True))
        self._more.set()

    async def _dead_letter(self, message: ChannelMessage, error: Exception) -> None:
        bridge = self._mapper.bridge
        source = SourceMessage(
            topic=f"{bridge.channel}:{message.topic}",
            partition=None,
            offset=None,
            key=bridge.id.encode(),
            value=message.body,
        )
        limit = self._intake.max_payload
        payload = message.body if len(message.body) <= limit else message.body[:limit]
        reason = f"bridge {bridge.id}: {error}"
        if payload is not message.body:
            reason += f" (payload truncated to {limit} of {len(message.body)} bytes)"
        kind = "mapping" if isinstance(error, InputError) else "rejected"
        await self._intake.letters.record(source, reason, payload, kind=kind)
        self._stats.dead_lettered += 1
        observed_refusal(bridge.channel, error)

    async def _ack_in_order(self) -> None:
        """Acknowledge in arrival order; every message already settled behind the first
        goes in the same call (AMQP acknowledges them with one frame)."""
        while True:
            while not self._entries:
                self._more.clear()
                await self._more.wait()
            await asyncio.wait([self._entries[0].sent])  # the oldest, in the order they came
            done: list[_Entry[Token]] = []
            delivered = 0
            while self._entries and (sent := self._entries[0].sent).done():
                entry = self._entries.popleft()
                done.append(entry)
                if sent.cancelled() or sent.exception() is not None:
                    await self._settle(entry)
                else:
                    delivered += entry.event
            if delivered:  # counted once per run of settled messages, not per message
                self._stats.delivered += delivered
                observed_delivery(self._mapper.bridge.channel, delivered)
            await self._ack([entry.token for entry in done])
            self.open -= len(done)
            self._stats.in_flight = self.open
            for _ in done:
                self._window.release()

    async def _settle(self, entry: _Entry[Token]) -> None:
        """An entry whose send failed: dead-lettered when Kafka will never take it (any
        other failure ends the acknowledgements, and the connection)."""
        try:
            await entry.sent
        except RecordRejected as exc:  # Kafka will never take this record
            await self._dead_letter(entry.message, exc)

    async def drain(self, timeout: float) -> None:
        """Take nothing more; wait up to ``timeout`` seconds for what was taken to be
        acknowledged (a clean stop: what is left comes again after a restart)."""
        self._accepting.clear()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.open and loop.time() < deadline and not self._acker.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        """Stop acknowledging (the connection is gone: what was not acknowledged comes
        again, as the same events)."""
        self._acker.cancel()
        await asyncio.gather(self._acker, return_exceptions=True)
        observed_redelivery(self._mapper.bridge.channel, self.open)
