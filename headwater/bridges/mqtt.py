"""MQTT bridge: topic filters at QoS 1 in a persistent MQTT v5 session.

The client id is stable (``Bridge.client_id``), ``clean_start`` is false and the
session never expires, so what is published while the bridge is away waits in the
broker. Acknowledgements are manual: a PUBACK goes back only once Kafka acknowledged
the message's intake record, in the order the messages came, the PUBACKs of a settled
run as one write; a message that came at QoS 0 is not acknowledged. What was not
acknowledged when a connection ends is sent again by the broker (flagged DUP): its
event id comes from the mapping, so it is the same event and dropped downstream. The
broker sends at most ``HEADWATER_BRIDGE_MAX_IN_FLIGHT`` unacknowledged messages
(Receive Maximum): the back-pressure while Kafka is away.

The subscriber is the bridge's own (``mqtt_connection.py`` on asyncio, packets in
``mqtt_packets.py``), not aiomqtt and paho: those read each packet with several
``recv`` calls and an event-loop turn, build MQTT v5 property objects and a task per
message, and cost more CPU per message than the mapping and the Kafka send together
(docs/performance.md, bridges). Here one read parses every packet it holds, and the
consuming loop takes every message that arrived at once.
"""

from __future__ import annotations

import ssl
import time

from headwater.bridges.mqtt_connection import MqttConnection, open_connection
from headwater.bridges.mqtt_packets import Publish, reason_name
from headwater.bridges.pipeline import Pipeline
from headwater.bridges.runner import ChannelRunner
from headwater.core.bridge_mapping import ChannelMessage
from headwater.errors import ChannelError

__all__ = ["MqttRunner"]

_NEVER_EXPIRES = 0xFFFFFFFF
KEEPALIVE = 30  # seconds between PINGREQs; a broker silent for as long is taken as gone
TIMEOUT = 10.0  # seconds for the TCP/TLS connection, the CONNACK and the SUBACK


class MqttRunner(ChannelRunner):
    async def session(self) -> None:
        connection = self.bridge.connection
        tls = ssl.create_default_context() if connection.tls else None
        client = await open_connection(
            connection.host,
            connection.port or (8883 if tls else 1883),
            tls=tls,
            client_id=self.bridge.client_id,
            username=connection.username,
            password=self._password,
            keepalive=KEEPALIVE,
            props={
                "session_expiry_interval": _NEVER_EXPIRES,
                # the broker sends at most this many unacknowledged messages
                "receive_maximum": min(self._settings.bridge_max_in_flight, 65535),
            },
            timeout=TIMEOUT,
        )
        try:

            async def ack(packet_ids: list[int]) -> None:
                client.acknowledge([packet_id for packet_id in packet_ids if packet_id])

            pipeline = self.pipeline(ack)
            try:
                topics = self.bridge.subscription.topics
                _check_granted(topics, await client.subscribe(topics, 1, TIMEOUT))
                await pipeline.run(_consume(client, pipeline))
            finally:
                await pipeline.close()
        finally:
            client.close()


async def _consume(client: MqttConnection, pipeline: Pipeline[int]) -> None:
    """Until the connection ends (then raise why): every message into the pipeline, its
    token the packet id (0 at QoS 0: nothing to acknowledge)."""
    submit = pipeline.submit
    while True:
        messages = await client.received()
        received_at = time.time_ns() // 1_000_000
        for message in messages:
            await submit(channel_message(message, received_at), message.packet_id)


def _check_granted(topics: list[str], granted: list[int]) -> None:
    """The broker may refuse a filter (not authorized, ...) in its SUBACK: say which,
    rather than sit connected receiving nothing (the bridge retries with back-off)."""
    refused = [
        f"{topic} ({reason_name(code)})"
        for topic, code in zip(topics, granted, strict=False)
        if code >= 0x80
    ]
    if refused:
        raise ChannelError(f"the broker refused the subscription to {', '.join(refused)}")


def channel_message(message: Publish, received_at: int) -> ChannelMessage:
    """What the mapping reads of a PUBLISH: payload, topic, user properties as headers."""
    user = message.properties.get("user_property") if message.properties else None
    return ChannelMessage(
        body=message.payload,
        topic=message.topic,
        received_at=received_at,
        separator="/",
        headers=dict(user) if user else {},
    )
