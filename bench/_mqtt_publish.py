"""A lean MQTT 3.1.1 publisher for the bench: QoS 1 PUBLISH packets encoded before the
clock starts, written in runs, at most ``window`` awaiting their PUBACK.

aiomqtt (on paho) costs about as much CPU per message as the bridge it feeds (a
message object, a future and a lock each, and paho's packet handling in Python), and on
a shared 2-core machine that CPU is taken from the broker and the bridge: the live
figure was the publisher's rate. This one, like wrk for the collector and
``_amqp_publish`` for RabbitMQ, costs little, so the live figure says what Mosquitto,
the bridge and Kafka do.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable

from headwater.bridges.mqtt_packets import encode_varint

__all__ = ["MqttPublisher"]

_PUBACK = 0x40
_MAX_PACKET_ID = 65535


def _text(value: str) -> bytes:
    raw = value.encode()
    return len(raw).to_bytes(2, "big") + raw


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + encode_varint(len(body)) + body


class MqttPublisher:
    def __init__(self, host: str, port: int) -> None:
        self._address = (host, port)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._unread = b""

    async def __aenter__(self) -> MqttPublisher:
        self._reader, self._writer = await asyncio.open_connection(*self._address)
        client_id = f"bench-{uuid.uuid4().hex[:12]}"
        # protocol "MQTT" level 4, clean session, keep-alive 60 s
        connect = _text("MQTT") + bytes([4, 0x02]) + (60).to_bytes(2, "big") + _text(client_id)
        self._writer.write(_packet(0x10, connect))
        connack = await self._reader.readexactly(4)
        if connack[0] != 0x20 or connack[3] != 0:
            raise ConnectionError(f"MQTT broker refused the connection: {connack.hex()}")
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._writer is not None:
            self._writer.write(_packet(0xE0, b""))  # DISCONNECT
            self._writer.close()
            await self._writer.wait_closed()

    @staticmethod
    def marshal(topic: str, payloads: Iterable[bytes]) -> list[bytes]:
        """QoS 1 PUBLISH packets, packet ids 1..65535 in turn (``window`` in flight at
        most, so an id is free again long before it comes round)."""
        head = _text(topic)
        return [
            _packet(0x32, head + (n % _MAX_PACKET_ID + 1).to_bytes(2, "big") + payload)
            for n, payload in enumerate(payloads)
        ]

    async def publish(self, packets: list[bytes], window: int) -> None:
        """Write ``packets``, ``window`` unacknowledged at most; return once every one
        has its PUBACK."""
        assert self._writer is not None
        sent = acked = 0
        while acked < len(packets):
            room = window - (sent - acked)
            if room > 0 and sent < len(packets):
                run = packets[sent : sent + room]
                self._writer.write(b"".join(run))
                sent += len(run)
                await self._writer.drain()
            acked += await self._acks()

    async def _acks(self) -> int:
        """PUBACKs in what the broker sent next (at least one read)."""
        assert self._reader is not None
        data = self._unread + await self._reader.read(65536)
        if not data:
            raise ConnectionError("the MQTT broker closed the connection")
        acks = at = 0
        while at + 2 <= len(data):
            length = shift = 0
            end = at + 1
            while end < len(data):  # the remaining length: up to 4 bytes
                length |= (data[end] & 0x7F) << shift
                shift += 7
                end += 1
                if not data[end - 1] & 0x80:
                    break
            else:
                break  # the length itself is cut off
            if end + length > len(data):
                break  # the packet is cut off
            acks += data[at] & 0xF0 == _PUBACK
            at = end + length
        self._unread = data[at:]
        return acks
