"""The MQTT bridge's packet codec (bridges/mqtt_packets.py): every complete packet of a
read, whatever the reads' boundaries; MQTT v5 properties; clear errors for bytes that
break the protocol."""

from __future__ import annotations

import pytest

from headwater.bridges import mqtt_packets as mp
from headwater.errors import MalformedPacket


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (0, 1),
        (127, 1),
        (128, 2),
        (16383, 2),
        (16384, 3),
        (2097151, 3),
        (2097152, 4),
        (mp.MAX_VARINT, 4),
    ],
)
def test_variable_byte_integers_at_their_boundaries(value: int, size: int) -> None:
    encoded = mp.encode_varint(value)
    assert len(encoded) == size
    assert mp.decode_varint(encoded, 0, len(encoded)) == (value, size)
    assert mp.decode_varint(encoded[:-1], 0, size - 1)[1] == -1  # cut off: not yet whole


def test_spec_examples_and_limits_of_variable_byte_integers() -> None:
    assert mp.encode_varint(321) == b"\xc1\x02"  # MQTT v5, 1.5.5
    assert mp.encode_varint(16384) == b"\x80\x80\x01"
    with pytest.raises(ValueError, match="does not fit"):
        mp.encode_varint(mp.MAX_VARINT + 1)
    with pytest.raises(MalformedPacket, match="longer than four bytes"):
        mp.parse(b"\x30\xff\xff\xff\xff\x01")


def _server_stream() -> tuple[bytes, list[mp.Packet]]:
    """What a broker sends a subscriber, and what it decodes to."""
    big = b"x" * 16384  # a remaining length of three bytes
    parts = [
        (mp.packet(mp.CONNACK, 0, b"\x01\x00" + mp.properties({"receive_maximum": 20})),
         mp.ConnAck(True, 0, {"receive_maximum": 20})),
        (mp.packet(mp.SUBACK, 0, b"\x00\x01\x00\x01\x87"), mp.SubAck(1, [1, 0x87], {})),
        (mp.publish("a/b", b"{}", 1, 7), mp.Publish("a/b", b"{}", 1, 7)),
        (mp.publish("a/c", b"", 0), mp.Publish("a/c", b"", 0, 0)),
        (mp.publish("a/\u00e9", big, 1, 65535, dup=True),
         mp.Publish("a/\u00e9", big, 1, 65535, dup=True)),
        (mp.publish("a/d", b"1", 1, 8, props={"user_property": [("k", "v"), ("k", "w")]}),
         mp.Publish("a/d", b"1", 1, 8, properties={"user_property": [("k", "v"), ("k", "w")]})),
        (b"\xd0\x00", mp.PingResp()),
        (b"\x40\x02\x00\x09", mp.PubAck(9, 0, {})),
        (mp.packet(mp.DISCONNECT, 0, b"\x8b" + mp.properties({"reason_string": "bye"})),
         mp.Disconnect(0x8B, {"reason_string": "bye"})),
    ]  # fmt: skip
    return b"".join(raw for raw, _ in parts), [packet for _, packet in parts]


def test_every_packet_of_one_read_is_parsed() -> None:
    data, expected = _server_stream()
    packets, end = mp.parse(data)
    assert packets == expected and end == len(data)


def test_a_packet_split_across_reads_at_any_byte_comes_once_whole() -> None:
    data, expected = _server_stream()
    for cut in range(len(data) + 1):
        first, end = mp.parse(data[:cut])
        rest, end2 = mp.parse(data[end:cut] + data[cut:])
        assert first + rest == expected, cut
        assert end + end2 == len(data)


def test_byte_by_byte_reads_keep_the_partial_rest() -> None:
    data, expected = _server_stream()
    packets: list[mp.Packet] = []
    rest = b""
    for byte in data:
        rest += bytes([byte])
        found, end = mp.parse(rest)
        packets += found
        rest = rest[end:]
    assert packets == expected and rest == b""


def test_properties_of_every_kind_round_trip() -> None:
    props = {
        "payload_format_indicator": 1,
        "message_expiry_interval": 0xFFFFFFFF,
        "content_type": "application/json",
        "correlation_data": b"\x00\x01",
        "subscription_identifier": [1, 268_435_455],
        "topic_alias": 3,
        "user_property": [("tenant", "acme"), ("\u00fc", "")],
    }
    [packet], _ = mp.parse(mp.publish("t", b"body", 1, 1, props=props))
    assert isinstance(packet, mp.Publish)
    assert packet.properties == props and packet.payload == b"body"


def test_a_topic_alias_alone_leaves_the_topic_to_the_connection() -> None:
    [packet], _ = mp.parse(mp.publish("", b"x", 0, props={"topic_alias": 2}))
    assert isinstance(packet, mp.Publish)
    assert (packet.topic, packet.properties) == ("", {"topic_alias": 2})


def test_what_the_subscriber_sends() -> None:
    connect = mp.connect(
        "hw-p-1",
        keepalive=30,
        clean_start=False,
        username="u",
        password="p",
        props={"session_expiry_interval": 0xFFFFFFFF, "receive_maximum": 1000},
    )
    body = (
        b"\x00\x04MQTT\x05\xc0\x00\x1e"  # protocol, version 5, username+password, keepalive
        b"\x08\x11\xff\xff\xff\xff\x21\x03\xe8"  # session never expires, receive maximum
        b"\x00\x06hw-p-1\x00\x01u\x00\x01p"
    )
    assert connect == b"\x10" + bytes([len(body)]) + body
    assert mp.connect("c", keepalive=0, clean_start=True)[9] == 0x02  # no credentials
    assert mp.subscribe(1, [("a/#", 1), ("b", 1)]) == (
        b"\x82\x0d\x00\x01\x00\x00\x03a/#\x01\x00\x01b\x01"
    )
    assert mp.pubacks([1, 300, 65535]) == b"\x40\x02\x00\x01\x40\x02\x01\x2c\x40\x02\xff\xff"
    assert mp.pubacks([]) == b""
    assert (mp.PINGREQ_PACKET, mp.disconnect(), mp.disconnect(0x04)) == (
        b"\xc0\x00", b"\xe0\x00", b"\xe0\x01\x04"
    )  # fmt: skip


def test_a_refusing_mqtt_3_broker_answers_with_its_short_connack() -> None:
    [packet], _ = mp.parse(b"\x20\x02\x00\x01")
    assert packet == mp.ConnAck(False, 1, {})
    assert mp.reason_name(1).startswith("0x01 Unacceptable protocol version")
    assert mp.reason_name(0x87) == "0x87 Not authorized"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x36\x05\x00\x01t\x00\x01", "QoS 3"),
        (b"\x30\x04\x00\x09ab", "longer than its packet"),
        (b"\x30\x04\x00\x01\xff\x00", "not UTF-8"),
        (b"\x32\x06\x00\x01t\x00\x00\x00", "packet identifier 0"),
        (b"\x30\x03\x00\x01t", "without its properties length"),
        (b"\x30\x06\x00\x01t\x05\x01\x01", "properties longer than their packet"),
        (b"\x30\x06\x00\x01t\x01\x7f\x00", "unknown property identifier 127"),
        (b"\x30\x07\x00\x01t\x04\x23\x00\x01", "properties longer"),
        (b"\x30\x0a\x00\x01t\x06\x23\x00\x01\x23\x00\x02", "topic_alias given twice"),
        (b"\x90\x03\x00\x01\x00", "SUBACK without reason codes"),
        (b"\x42\x02\x00\x01", "flags"),
        (b"\x20\x01\x00", "malformed CONNACK"),
        (b"\xd0\x01\x00", "PINGRESP with a body"),
        (b"\x80\x00", "which a server does not send"),
        (b"\x40\x01\x00", "PUBACK cut short"),
    ],
)
def test_malformed_packets_raise_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedPacket, match=reason):
        mp.parse(data)


def test_the_size_of_a_packet_is_known_once_its_header_is() -> None:
    big = mp.publish("t", b"x" * 20000, 1, 1)  # a remaining length of three bytes
    assert [mp.packet_size(big[:n]) for n in range(5)] == [-1, -1, -1, -1, len(big)]
    assert mp.packet_size(b"\xd0\x00") == 2
