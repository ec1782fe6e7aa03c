"""The MQTT bridge's PUBACKs in one write (bridges/mqtt_packets.py ``pubacks``) are the
bytes paho sends for the same messages one by one, and the bridge acknowledges nothing
for a message that came at QoS 0."""

from __future__ import annotations

import paho.mqtt.client as mqtt

from headwater.bridges.mqtt_packets import pubacks


def _client() -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.manual_ack_set(True)
    client.on_socket_register_write = lambda *_: None  # queue only: no socket
    return client


def test_pubacks_in_one_write_are_the_bytes_paho_sends_one_by_one() -> None:
    # a QoS 0 message (published at QoS 0) is not acknowledged, and has no packet id
    messages = [(1, 1), (0, 0), (300, 1), (65535, 1)]
    one_by_one = _client()
    for mid, qos in messages:
        one_by_one.ack(mid, qos)
    expected = b"".join(bytes(packet["packet"]) for packet in one_by_one._out_packet)
    # the bridge's token of a QoS 0 message is packet id 0, which it leaves out
    assert pubacks([mid for mid, _ in messages if mid]) == expected
    assert len(expected) == 4 * 3


def test_only_qos_0_messages_send_nothing() -> None:
    assert pubacks([mid for mid in (0, 0) if mid]) == b""
