"""MQTT bridge (aiomqtt): topic filters at QoS 1 in a persistent session.

The client id is stable (``Bridge.client_id``) and the session never expires, so what
is published while the bridge is away waits in the broker. Acknowledgements are manual:
a PUBACK goes back only once Kafka acknowledged the message's intake record; what was
not acknowledged when a connection ends is sent again by the broker.

Per message, paho and aiomqtt cost more CPU than the mapping and the Kafka send
together (docs/performance.md, bridges). One of their costs is cut here: the
acknowledgements of a settled run of messages go out as one write (paho queues and
sends each PUBACK on its own). Taking the messages already in aiomqtt's queue without
its task and wait per message, through its private queue, was taken out again: with it
a configuration change once failed to reconnect the bridge within 30 s in CI. paho also
rebuilds its tables of MQTT v5 property names for every message received (~7 us);
sharing them would mean replacing ``Properties.__init__`` for the whole process, which
was measured and left out.
"""

from __future__ import annotations

import ssl
import struct
import time
from typing import Any

import aiomqtt
from paho.mqtt.client import PUBACK
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from headwater.bridges.pipeline import Pipeline
from headwater.bridges.runner import ChannelRunner
from headwater.core.bridge_mapping import ChannelMessage

__all__ = ["MqttRunner"]

_NEVER_EXPIRES = 0xFFFFFFFF


class MqttRunner(ChannelRunner):
    async def session(self) -> None:
        connection = self.bridge.connection
        tls = ssl.create_default_context() if connection.tls else None
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = _NEVER_EXPIRES
        # the broker sends at most this many unacknowledged messages: the back-pressure
        properties.ReceiveMaximum = min(self._settings.bridge_max_in_flight, 65535)
        client = aiomqtt.Client(
            connection.host,
            connection.port or (8883 if tls else 1883),
            username=connection.username,
            password=self._password,
            identifier=self.bridge.client_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,
            properties=properties,
            tls_context=tls,
            timeout=10,
            keepalive=30,
        )
        paho = client._client  # aiomqtt has no manual acknowledgements: paho has
        paho.manual_ack_set(True)  # before connecting: a kept session delivers at once

        async def ack(messages: list[aiomqtt.Message]) -> None:
            _queue_pubacks(paho, messages)

        async with client:
            pipeline = self.pipeline(ack)
            try:
                topics = self.bridge.subscription.topics
                granted = await client.subscribe([(topic, 1) for topic in topics])
                _check_granted(topics, granted)
                await pipeline.run(self._consume(client, pipeline))
            finally:
                await pipeline.close()

    async def _consume(self, client: aiomqtt.Client, pipeline: Pipeline[aiomqtt.Message]) -> None:
        async for message in client.messages:
            await pipeline.submit(_channel_message(message), message)


_PUBACK = struct.Struct("!BBH")  # MQTT v5 allows a PUBACK without reason code (success)


def _queue_pubacks(paho: Any, messages: list[aiomqtt.Message]) -> None:
    """What ``paho.ack(message.mid, message.qos)`` does for each, in order, as one packet
    write (paho writes each queued packet with a send of its own): a PUBACK for a QoS 1
    message (MQTT has no cumulative ack), nothing for QoS 0 (a message published at QoS
    0 comes at QoS 0). The subscription is QoS 1, so nothing comes at QoS 2."""
    mids = [message.mid for message in messages if message.qos == 1]
    if mids:
        packet = b"".join([_PUBACK.pack(PUBACK, 2, mid) for mid in mids])
        paho._packet_queue(PUBACK, packet, 0, 1)


def _check_granted(topics: list[str], granted: Any) -> None:
    """The broker may refuse a filter (not authorized, ...) in its SUBACK: say which,
    rather than sit connected receiving nothing (the bridge retries with back-off)."""
    refused = [
        f"{topic} ({code})"
        for topic, code in zip(topics, granted, strict=False)
        if int(getattr(code, "value", code)) >= 0x80
    ]
    if refused:
        raise aiomqtt.MqttError(f"the broker refused the subscription to {', '.join(refused)}")


def _channel_message(message: aiomqtt.Message) -> ChannelMessage:
    payload = message.payload
    body = payload if isinstance(payload, bytes) else str(payload).encode()
    user = getattr(message.properties, "UserProperty", None) or []
    return ChannelMessage(
        body=body,
        topic=message.topic.value,
        received_at=time.time_ns() // 1_000_000,
        separator="/",
        headers=dict(user),
    )
