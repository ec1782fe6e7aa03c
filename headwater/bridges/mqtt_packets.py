"""MQTT v5 packets for the MQTT bridge's subscriber: bytes in, packets out, and back.

Pure (no I/O). :func:`parse` takes what a connection has received and returns every
complete packet in it, with the offset where the incomplete rest begins (kept for the
next read): one call per read, however many packets the read holds. A packet that
breaks the protocol raises :class:`~headwater.errors.MalformedPacket` with the reason.

Decoded are the packets a server sends a subscriber (CONNACK, PUBLISH, PUBACK, SUBACK,
PINGRESP, DISCONNECT); encoded are the ones the subscriber sends (CONNECT, SUBSCRIBE,
PUBACK, PINGREQ, DISCONNECT) and, through :func:`packet`, :func:`publish` and
:func:`properties`, anything else (the tests play the server with them, the bench
publishes with them). Properties are a dict by name (``receive_maximum``, ...); the
repeatable ones (``user_property``: (name, value) pairs, ``subscription_identifier``)
are lists. A PUBLISH without properties, the usual case, skips their decoding.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from headwater.errors import MalformedPacket

__all__ = [
    "CONNACK",
    "CONNECT",
    "DISCONNECT",
    "PINGREQ",
    "PINGREQ_PACKET",
    "PINGRESP",
    "PUBACK",
    "PUBLISH",
    "SUBACK",
    "SUBSCRIBE",
    "ConnAck",
    "Disconnect",
    "Packet",
    "PingResp",
    "PubAck",
    "Publish",
    "SubAck",
    "connect",
    "decode_varint",
    "disconnect",
    "encode_varint",
    "packet",
    "packet_size",
    "parse",
    "properties",
    "pubacks",
    "publish",
    "reason_name",
    "subscribe",
]

CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14
PINGREQ_PACKET = b"\xc0\x00"
MAX_VARINT = 268_435_455  # four bytes of seven bits

# identifier: (name, type); types: byte, u16, u32, varint, str, bin, pair
_PROPERTIES: dict[int, tuple[str, str]] = {
    0x01: ("payload_format_indicator", "byte"),
    0x02: ("message_expiry_interval", "u32"),
    0x03: ("content_type", "str"),
    0x08: ("response_topic", "str"),
    0x09: ("correlation_data", "bin"),
    0x0B: ("subscription_identifier", "varint"),
    0x11: ("session_expiry_interval", "u32"),
    0x12: ("assigned_client_identifier", "str"),
    0x13: ("server_keep_alive", "u16"),
    0x15: ("authentication_method", "str"),
    0x16: ("authentication_data", "bin"),
    0x17: ("request_problem_information", "byte"),
    0x18: ("will_delay_interval", "u32"),
    0x19: ("request_response_information", "byte"),
    0x1A: ("response_information", "str"),
    0x1C: ("server_reference", "str"),
    0x1F: ("reason_string", "str"),
    0x21: ("receive_maximum", "u16"),
    0x22: ("topic_alias_maximum", "u16"),
    0x23: ("topic_alias", "u16"),
    0x24: ("maximum_qos", "byte"),
    0x25: ("retain_available", "byte"),
    0x26: ("user_property", "pair"),
    0x27: ("maximum_packet_size", "u32"),
    0x28: ("wildcard_subscription_available", "byte"),
    0x29: ("subscription_identifier_available", "byte"),
    0x2A: ("shared_subscription_available", "byte"),
}
_IDENTIFIERS = {name: (identifier, kind) for identifier, (name, kind) in _PROPERTIES.items()}
_REPEATED = {"user_property", "subscription_identifier"}
_FIXED = {"byte": 1, "u16": 2, "u32": 4}

_REASONS = {
    0x00: "Success",
    0x01: "Unacceptable protocol version (MQTT 3)",
    0x02: "Identifier rejected (MQTT 3)",
    0x03: "Server unavailable (MQTT 3)",
    0x04: "Bad user name or password (MQTT 3)",
    0x05: "Not authorized (MQTT 3)",
    0x80: "Unspecified error",
    0x81: "Malformed Packet",
    0x82: "Protocol Error",
    0x83: "Implementation specific error",
    0x84: "Unsupported Protocol Version",
    0x85: "Client Identifier not valid",
    0x86: "Bad User Name or Password",
    0x87: "Not authorized",
    0x88: "Server unavailable",
    0x89: "Server busy",
    0x8A: "Banned",
    0x8B: "Server shutting down",
    0x8C: "Bad authentication method",
    0x8D: "Keep Alive timeout",
    0x8E: "Session taken over",
    0x8F: "Topic Filter invalid",
    0x90: "Topic Name invalid",
    0x91: "Packet Identifier in use",
    0x92: "Packet Identifier not found",
    0x93: "Receive Maximum exceeded",
    0x94: "Topic Alias invalid",
    0x95: "Packet too large",
    0x96: "Message rate too high",
    0x97: "Quota exceeded",
    0x98: "Administrative action",
    0x99: "Payload format invalid",
    0x9A: "Retain not supported",
    0x9B: "QoS not supported",
    0x9C: "Use another server",
    0x9D: "Server moved",
    0x9E: "Shared Subscriptions not supported",
    0x9F: "Connection rate exceeded",
    0xA0: "Maximum connect time",
    0xA1: "Subscription Identifiers not supported",
    0xA2: "Wildcard Subscriptions not supported",
}


def reason_name(code: int) -> str:
    """``0x87 Not authorized``: a reason code as errors and logs show it."""
    return f"0x{code:02X} {_REASONS.get(code, 'unknown reason')}"


_NO_PROPERTIES: Mapping[str, Any] = {}


@dataclass(slots=True)
class Publish:
    topic: str  # "" when the server sent a topic alias only (the connection fills it)
    payload: bytes
    qos: int
    packet_id: int  # 0 at QoS 0
    dup: bool = False
    retain: bool = False
    properties: Mapping[str, Any] = field(default_factory=lambda: _NO_PROPERTIES)


@dataclass(frozen=True, slots=True)
class ConnAck:
    session_present: bool
    reason: int
    properties: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SubAck:
    packet_id: int
    reasons: list[int]
    properties: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PubAck:
    packet_id: int
    reason: int
    properties: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PingResp:
    pass


@dataclass(frozen=True, slots=True)
class Disconnect:
    reason: int
    properties: Mapping[str, Any]


Packet = Publish | ConnAck | SubAck | PubAck | PingResp | Disconnect


# --- decoding ---------------------------------------------------------------------------


def decode_varint(data: bytes, at: int, stop: int) -> tuple[int, int]:
    """The variable byte integer at ``at``: (value, offset after it); offset -1 when
    ``data`` ends (before ``stop``) in its middle. More than four bytes is malformed."""
    value = shift = 0
    for end in range(at, min(at + 4, stop)):
        byte = data[end]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, end + 1
        shift += 7
    if stop - at >= 4:
        raise MalformedPacket("a variable byte integer longer than four bytes")
    return 0, -1


def packet_size(data: bytes) -> int:
    """The size of the packet ``data`` begins with, header included; -1 while its header
    is incomplete (a connection waits for that many bytes before parsing again)."""
    if len(data) < 2:
        return -1
    length, body = decode_varint(data, 1, len(data))
    return -1 if body < 0 else body + length


def parse(data: bytes) -> tuple[list[Packet], int]:
    """Every complete packet in ``data``, and the offset of the incomplete rest."""
    packets: list[Packet] = []
    at, size = 0, len(data)
    while size - at >= 2:
        first = data[at]
        length = data[at + 1]
        body = at + 2
        if length & 0x80:
            length, body = decode_varint(data, at + 1, size)
            if body < 0:
                break
        stop = body + length
        if stop > size:
            break
        if first >> 4 == PUBLISH:
            packets.append(_publish(data, first, body, stop))
        else:
            packets.append(_other(first, data, body, stop))
        at = stop
    return packets, at


def _u16(data: bytes, at: int, stop: int, what: str) -> int:
    if at + 2 > stop:
        raise MalformedPacket(f"{what} cut short")
    return (data[at] << 8) | data[at + 1]


def _text(data: bytes, at: int, stop: int, what: str) -> tuple[str, int]:
    end = at + 2 + _u16(data, at, stop, what)
    if end > stop:
        raise MalformedPacket(f"{what} longer than its packet")
    try:
        return data[at + 2 : end].decode(), end
    except UnicodeDecodeError:
        raise MalformedPacket(f"{what} is not UTF-8") from None


def _publish(data: bytes, first: int, at: int, stop: int) -> Publish:
    qos = (first >> 1) & 3
    if qos == 3:
        raise MalformedPacket("a PUBLISH with QoS 3")
    topic, at = _text(data, at, stop, "a PUBLISH topic")
    packet_id = 0
    if qos:
        packet_id = _u16(data, at, stop, "a PUBLISH packet identifier")
        if not packet_id:
            raise MalformedPacket("a QoS 1 PUBLISH with packet identifier 0")
        at += 2
    if at >= stop:
        raise MalformedPacket("a PUBLISH without its properties length")
    props = _NO_PROPERTIES
    if data[at]:
        props, at = _properties(data, at, stop)
    else:
        at += 1
    return Publish(topic, data[at:stop], qos, packet_id, bool(first & 8), bool(first & 1), props)


def _properties(data: bytes, at: int, stop: int) -> tuple[dict[str, Any], int]:
    """The properties at ``at`` (their length first): (properties, offset after them)."""
    length, at = decode_varint(data, at, stop)
    end = at + length
    if at < 0 or end > stop:
        raise MalformedPacket("properties longer than their packet")
    found: dict[str, Any] = {}
    while at < end:
        identifier, at = decode_varint(data, at, end)
        if at < 0 or identifier not in _PROPERTIES:
            raise MalformedPacket(f"an unknown property identifier {identifier}")
        name, kind = _PROPERTIES[identifier]
        value: Any
        if kind in _FIXED:
            size = _FIXED[kind]
            if at + size > end:
                raise MalformedPacket(f"property {name} cut short")
            value = int.from_bytes(data[at : at + size], "big")
            at += size
        elif kind == "varint":
            value, at = decode_varint(data, at, end)
            if at < 0:
                raise MalformedPacket(f"property {name} cut short")
        elif kind == "str":
            value, at = _text(data, at, end, f"property {name}")
        elif kind == "bin":
            size = _u16(data, at, end, f"property {name}")
            if at + 2 + size > end:
                raise MalformedPacket(f"property {name} longer than its properties")
            value, at = data[at + 2 : at + 2 + size], at + 2 + size
        else:  # a pair of strings
            key, at = _text(data, at, end, f"property {name}")
            text, at = _text(data, at, end, f"property {name}")
            value = (key, text)
        if name in _REPEATED:
            found.setdefault(name, []).append(value)
        elif name in found:
            raise MalformedPacket(f"property {name} given twice")
        else:
            found[name] = value
    return found, at


def _other(first: int, data: bytes, at: int, stop: int) -> Packet:
    kind, flags = first >> 4, first & 0x0F
    if flags:
        raise MalformedPacket(f"packet type {kind} with flags {flags:#x}")
    if kind == PUBACK:
        packet_id = _u16(data, at, stop, "a PUBACK")
        reason = data[at + 2] if at + 2 < stop else 0
        props = _properties(data, at + 3, stop)[0] if at + 3 < stop else {}
        return PubAck(packet_id, reason, props)
    if kind == SUBACK:
        packet_id = _u16(data, at, stop, "a SUBACK")
        props, at = _properties(data, at + 2, stop)
        if at >= stop:
            raise MalformedPacket("a SUBACK without reason codes")
        return SubAck(packet_id, list(data[at:stop]), props)
    if kind == CONNACK:
        if stop - at < 2 or data[at] & 0xFE:
            raise MalformedPacket("a malformed CONNACK")
        # an MQTT 3 server refusing version 5 answers with its two-byte CONNACK
        props = _properties(data, at + 2, stop)[0] if stop - at > 2 else {}
        return ConnAck(bool(data[at] & 1), data[at + 1], props)
    if kind == PINGRESP:
        if stop != at:
            raise MalformedPacket("a PINGRESP with a body")
        return PingResp()
    if kind == DISCONNECT:
        reason = data[at] if at < stop else 0
        props = _properties(data, at + 1, stop)[0] if at + 1 < stop else {}
        return Disconnect(reason, props)
    raise MalformedPacket(f"packet type {kind}, which a server does not send a subscriber")


# --- encoding ---------------------------------------------------------------------------


def encode_varint(value: int) -> bytes:
    if not 0 <= value <= MAX_VARINT:
        raise ValueError(f"{value} does not fit a variable byte integer")
    out = bytearray()
    while True:
        value, digit = divmod(value, 128)
        out.append(digit | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _string(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    if len(raw) > 65535:
        raise ValueError("a string or binary value over 65,535 bytes")
    return len(raw).to_bytes(2, "big") + raw


def properties(values: Mapping[str, Any]) -> bytes:
    """Properties by name, with their length first (``b"\\x00"`` for none)."""
    out = bytearray()
    for name, given in values.items():
        identifier, kind = _IDENTIFIERS[name]
        for value in given if name in _REPEATED else [given]:
            out += encode_varint(identifier)
            if kind in _FIXED:
                out += int(value).to_bytes(_FIXED[kind], "big")
            elif kind == "varint":
                out += encode_varint(value)
            elif kind == "pair":
                out += _string(value[0]) + _string(value[1])
            else:
                out += _string(value)
    return encode_varint(len(out)) + bytes(out)


def packet(kind: int, flags: int, body: bytes) -> bytes:
    """A packet: its fixed header (type, flags, remaining length) and ``body``."""
    return bytes([kind << 4 | flags]) + encode_varint(len(body)) + body


def connect(
    client_id: str,
    *,
    keepalive: int,
    clean_start: bool,
    username: str | None = None,
    password: str | None = None,
    props: Mapping[str, Any] = _NO_PROPERTIES,
) -> bytes:
    flags = (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    flags |= 0x02 if clean_start else 0
    body = _string("MQTT") + bytes([5, flags]) + keepalive.to_bytes(2, "big")
    body += properties(props) + _string(client_id)
    if username is not None:
        body += _string(username)
    if password is not None:
        body += _string(password.encode())
    return packet(CONNECT, 0, body)


def subscribe(packet_id: int, filters: Iterable[tuple[str, int]]) -> bytes:
    """SUBSCRIBE to (filter, maximum QoS) pairs (no other subscription options)."""
    body = packet_id.to_bytes(2, "big") + properties({})
    body += b"".join(_string(topic) + bytes([qos]) for topic, qos in filters)
    return packet(SUBSCRIBE, 2, body)


def publish(
    topic: str,
    payload: bytes,
    qos: int = 0,
    packet_id: int = 0,
    *,
    dup: bool = False,
    props: Mapping[str, Any] = _NO_PROPERTIES,
) -> bytes:
    body = _string(topic) + (packet_id.to_bytes(2, "big") if qos else b"")
    return packet(PUBLISH, qos << 1 | dup << 3, body + properties(props) + payload)


_PUBACK = struct.Struct("!BBH")  # MQTT v5 allows a PUBACK without reason code (success)


def pubacks(packet_ids: Iterable[int]) -> bytes:
    """The PUBACKs (success) of ``packet_ids``, in that order, as one buffer to write
    (MQTT has no cumulative acknowledgement)."""
    pack = _PUBACK.pack
    return b"".join([pack(0x40, 2, packet_id) for packet_id in packet_ids])


def disconnect(reason: int = 0) -> bytes:
    return packet(DISCONNECT, 0, bytes([reason]) if reason else b"")
