"""One MQTT v5 subscriber connection on asyncio, for the MQTT bridge.

An :class:`asyncio.Protocol`: each read (up to 256 KiB, asyncio's) is parsed in one go
(``mqtt_packets.parse``) and every PUBLISH in it queued for the bridge's consuming loop,
which takes whatever has arrived with :meth:`MqttConnection.received`. The broker sends
at most ``receive_maximum`` unacknowledged QoS 1 messages (the back-pressure); messages
published at QoS 0 are not bounded so, and the reading pauses while too many wait.
:meth:`MqttConnection.acknowledge` writes the PUBACKs of a run of messages as one write.

Keepalive: a PINGREQ every keepalive interval (the server's, when its CONNACK names
one); when the next one is due and nothing at all came from the broker since the last
(no PINGRESP, no other packet), the connection is taken as dead and closed.

A refused CONNECT or SUBSCRIBE, a DISCONNECT from the server, a malformed packet and a
lost connection all end the connection with a :class:`~headwater.errors.ChannelError`
(or the ``OSError`` that ended it) naming the reason; :meth:`received` raises it.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any, cast

from headwater.bridges import mqtt_packets as mp
from headwater.errors import ChannelError, MalformedPacket

__all__ = ["MqttConnection", "open_connection"]


class MqttConnection(asyncio.Protocol):
    def __init__(self, keepalive: int, receive_maximum: int) -> None:
        self._keepalive = keepalive
        self._transport: asyncio.Transport | None = None
        self._partial: list[bytes] = []  # the reads of an incomplete packet
        self._partial_size = 0
        self._need = 0  # bytes of the incomplete packet (more than held while unknown)
        self._waiting: list[mp.Publish] = []
        self._more = asyncio.Event()
        self._high = 2 * receive_maximum + 100  # queued messages that pause the reading
        self._paused = False
        self._reply: asyncio.Future[mp.ConnAck | mp.SubAck] | None = None
        self._aliases: dict[int, str] = {}
        self._ended: BaseException | None = None
        self._heard = False  # anything from the broker since the last PINGREQ
        self._pinger: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a socket transport (uvloop's, in the bridge process, is no asyncio.Transport)
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._heard = True
        if self._partial:  # a large packet comes in many reads: joined once it is whole
            self._partial.append(data)
            self._partial_size += len(data)
            if self._partial_size < self._need:
                return
            data = b"".join(self._partial)
        try:
            packets, end = mp.parse(data)
            self._keep_partial(data, end)
        except MalformedPacket as exc:
            self._end(exc)
            return
        arrived = False
        for packet in packets:
            if type(packet) is mp.Publish:
                if packet.properties and not self._alias(packet):
                    return
                if packet.qos == 2:  # never on a QoS 1 subscription
                    self._end(ChannelError("a QoS 2 PUBLISH on a QoS 1 subscription"))
                    return
                self._waiting.append(packet)
                arrived = True
            else:
                self._control(packet)
        if arrived:
            self._more.set()
            if len(self._waiting) >= self._high and not self._paused and self._transport:
                self._paused = True
                self._transport.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(exc or ConnectionError("the broker closed the connection"))

    # --- what the bridge calls ----------------------------------------------------------

    async def handshake(self, packet: bytes, timeout: float) -> mp.ConnAck | mp.SubAck:
        """Write ``packet`` (CONNECT or SUBSCRIBE) and wait for its answer."""
        if self._ended is not None:
            raise self._ended
        self._reply = asyncio.get_running_loop().create_future()
        self._write(packet)
        try:
            return await asyncio.wait_for(self._reply, timeout)
        except TimeoutError:
            raise ChannelError(f"no answer from the broker within {timeout:g} s") from None
        finally:
            self._reply = None

    async def subscribe(self, filters: list[str], qos: int, timeout: float) -> list[int]:
        """Subscribe; the broker's reason code per filter (0x80 and up: refused)."""
        answer = await self.handshake(mp.subscribe(1, [(f, qos) for f in filters]), timeout)
        if not isinstance(answer, mp.SubAck) or answer.packet_id != 1:
            raise ChannelError("the broker answered SUBSCRIBE with something else than its SUBACK")
        return answer.reasons

    async def received(self) -> list[mp.Publish]:
        """The messages that arrived since the last call, in order (waits for one);
        raises what ended the connection."""
        while not self._waiting and self._ended is None:
            self._more.clear()
            await self._more.wait()
        if self._ended is not None:
            raise self._ended
        taken, self._waiting = self._waiting, []
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        return taken

    def acknowledge(self, packet_ids: list[int]) -> None:
        """PUBACK these QoS 1 messages, in this order, with one write."""
        if packet_ids and self._ended is None:
            self._write(mp.pubacks(packet_ids))

    def close(self) -> None:
        """A normal DISCONNECT (the session stays: its expiry was set on CONNECT)."""
        if self._ended is None:
            self._write(mp.disconnect())
        self._end(ChannelError("the connection was closed"))

    def abort(self, problem: BaseException) -> None:
        """End the connection without a DISCONNECT (after a refused CONNECT)."""
        self._end(problem)

    def keep_alive(self, interval: int) -> None:
        """Start the PINGREQs (``interval`` 0: none)."""
        self._keepalive = interval
        if interval:
            self._pinger = asyncio.get_running_loop().call_later(interval, self._ping)

    # --- inside -------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _ping(self) -> None:
        if self._ended is not None:
            return
        if not self._heard and not self._paused:
            self._end(ChannelError(f"no answer from the broker within {self._keepalive} s"))
            return
        self._heard = False
        self._write(mp.PINGREQ_PACKET)
        self._pinger = asyncio.get_running_loop().call_later(self._keepalive, self._ping)

    def _keep_partial(self, data: bytes, end: int) -> None:
        """Keep what follows the last whole packet, and how much of it is needed."""
        if end == len(data):
            self._partial = []
            return
        rest = data[end:]
        size = mp.packet_size(rest)
        self._partial, self._partial_size = [rest], len(rest)
        self._need = size if size > 0 else len(rest) + 1

    def _alias(self, packet: mp.Publish) -> bool:
        """Resolve a topic alias (the connection's table); False when it ended it."""
        alias = packet.properties.get("topic_alias")
        if alias is None:
            return True
        if packet.topic:
            self._aliases[alias] = packet.topic
            return True
        topic = self._aliases.get(alias)
        if topic is None:
            self._end(MalformedPacket(f"a PUBLISH with the unknown topic alias {alias}"))
            return False
        packet.topic = topic
        return True

    def _control(self, packet: mp.Packet) -> None:
        if isinstance(packet, mp.ConnAck | mp.SubAck):
            if self._reply is not None and not self._reply.done():
                self._reply.set_result(packet)
        elif isinstance(packet, mp.Disconnect):
            self._end(ChannelError(f"the broker disconnected: {_reason(packet)}"))
        # PINGRESP: ``_heard`` is enough; PUBACK: the subscriber publishes nothing

    def _end(self, problem: BaseException) -> None:
        if self._ended is not None:
            return
        self._ended = problem
        if self._pinger is not None:
            self._pinger.cancel()
        if self._reply is not None and not self._reply.done():
            self._reply.set_exception(problem)
        self._more.set()
        if self._transport is not None:
            self._transport.close()


def _reason(answer: mp.ConnAck | mp.Disconnect) -> str:
    text = answer.properties.get("reason_string")
    return mp.reason_name(answer.reason) + (f" ({text})" if text else "")


async def open_connection(
    host: str,
    port: int,
    *,
    tls: ssl.SSLContext | None,
    client_id: str,
    username: str | None,
    password: str | None,
    keepalive: int,
    props: Mapping[str, Any],
    timeout: float,
) -> MqttConnection:
    """Connect (TCP, TLS with ``tls``), CONNECT with ``clean_start`` false and wait for
    the CONNACK; a refusal raises :class:`ChannelError` with the broker's reason."""
    loop = asyncio.get_running_loop()
    receive_maximum = int(props.get("receive_maximum", 65535))
    try:
        _, connection = await asyncio.wait_for(
            loop.create_connection(
                lambda: MqttConnection(keepalive, receive_maximum), host, port, ssl=tls
            ),
            timeout,
        )
    except TimeoutError:
        raise ChannelError(f"no connection to {host}:{port} within {timeout:g} s") from None
    try:
        packet = mp.connect(
            client_id,
            keepalive=keepalive,
            clean_start=False,
            username=username,
            password=password,
            props=props,
        )
        answer = await connection.handshake(packet, timeout)
        if not isinstance(answer, mp.ConnAck):
            raise ChannelError("the broker answered CONNECT with something else than a CONNACK")
        if answer.reason:
            raise ChannelError(f"the broker refused the connection: {_reason(answer)}")
        connection.keep_alive(int(answer.properties.get("server_keep_alive", keepalive)))
    except BaseException as exc:
        connection.abort(exc)
        raise
    return connection
