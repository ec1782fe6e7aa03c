"""The MQTT bridge's shortcuts through paho (bridges/mqtt.py) send and decode exactly what
paho's own paths do."""

from __future__ import annotations

import aiomqtt
import paho.mqtt.client as mqtt

from headwater.bridges.mqtt import _queue_pubacks


def _client() -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.manual_ack_set(True)
    client.on_socket_register_write = lambda *_: None  # queue only: no socket
    return client


def _message(mid: int, qos: int) -> aiomqtt.Message:
    return aiomqtt.Message("t/a", b"{}", qos, False, mid, None)


def test_pubacks_in_one_write_are_the_bytes_paho_sends_one_by_one() -> None:
    # a QoS 0 message (published at QoS 0) is not acknowledged, and has no packet id
    messages = [_message(1, 1), _message(0, 0), _message(300, 1), _message(65535, 1)]
    one_by_one, together = _client(), _client()
    for message in messages:
        one_by_one.ack(message.mid, message.qos)
    _queue_pubacks(together, messages)

    expected = b"".join(bytes(packet["packet"]) for packet in one_by_one._out_packet)
    (packet,) = together._out_packet
    assert bytes(packet["packet"]) == expected
    assert len(expected) == 4 * 3
    assert packet["command"] == mqtt.PUBACK


def test_only_qos_0_messages_send_nothing() -> None:
    client = _client()
    _queue_pubacks(client, [_message(0, 0), _message(0, 0)])
    assert not client._out_packet
