"""The collector's wire bodies decoded with msgspec, for bodies that are plainly valid (pure).

``/track`` and ``/v1/*`` bodies are decoded in one pass of msgspec's C decoder into the
structs below, then checked in Python against the rules of the pydantic wire models
(:class:`headwater.core.intake.TrackerPayload`, :class:`headwater.core.segment.SegmentBatch`),
which stay the contract: they document the API (OpenAPI) and they decide. The structs are
stricter than the models on purpose (no coercions, no whitespace to strip, no numbers as
times): whatever they do not take as it is, :data:`SLOW` is returned and the caller parses
the body the pydantic way, which accepts it as before or refuses it with the same status
and reason as before. So a body the fast path takes gives the values the models would
give, and any other body gets exactly the answer it got before.

What keeps the two equal (``tests/unit/core/test_fast_wire.py`` checks it on generated
bodies): JSON parsed by msgspec and by orjson gives the same values, and msgspec refuses
the JSON that orjson refuses (lone surrogates, syntax, nesting deeper than its own limit,
which is lower than orjson's), but for what :func:`_needs_orjson` sends the slow way;
times are read by pydantic's own datetime rules (a ``TypeAdapter``).
The free-form objects (``context``, ``properties``, ...) are still parsed and written
again by orjson, not kept as raw slices of the body: a raw slice would skip the checks
that parsing makes (UTF-8, numbers a double holds) and that every consumer relies on.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final, Literal

import msgspec
from pydantic import TypeAdapter, ValidationError

__all__ = [
    "MAX_BATCH_MESSAGES",
    "SEGMENT_TYPES",
    "SLOW",
    "SegmentType",
    "FastSegmentBatch",
    "FastSegmentMessage",
    "FastTrackerPayload",
    "decode_segment_batch",
    "decode_segment_message",
    "decode_tracker",
]

MAX_BATCH_MESSAGES = 2500
SegmentType = Literal["track", "identify", "page", "screen", "group", "alias"]
SEGMENT_TYPES: tuple[SegmentType, ...] = ("track", "identify", "page", "screen", "group", "alias")

SLOW: Final = None
"""Returned when the body needs the pydantic models' judgement."""

_CLIENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_INSTANT: TypeAdapter[datetime | None] = TypeAdapter(datetime | None)
# Parts of a body no struct field takes (unknown keys) msgspec skips, checking their JSON
# syntax but not their UTF-8 or whether a number fits a double, which orjson refuses; and
# orjson reads an integer beyond 64 bits as a float where msgspec reads an int. A body
# that is not UTF-8, or that has a number with a run of 19 digits or more or an exponent
# of 3 digits or more (1e999; a word such as "e100" in a text too), goes the slow way.
_NUMBER_SHAPES = bytes(
    48 if 48 <= byte <= 57 else 101 if byte in b"eE" else 43 if byte in b"+-" else 32
    for byte in range(256)
)
_LONG_RUN, _WIDE_EXPONENT, _SIGNED_EXPONENT = b"0" * 19, b"e000", b"e+000"


def _needs_orjson(body: bytes) -> bool:
    if not body.isascii():
        try:
            body.decode()
        except UnicodeDecodeError:
            return True
    shapes = body.translate(_NUMBER_SHAPES)
    return _LONG_RUN in shapes or _WIDE_EXPONENT in shapes or _SIGNED_EXPONENT in shapes


def _object() -> dict[str, Any]:
    return {}


# --- /track (Tracardi tracker protocol) ------------------------------------------------


class _Ref(msgspec.Struct):
    id: str | None = None


class _SourceRef(msgspec.Struct):
    id: str


class _EventTime(msgspec.Struct):
    create: Any = None  # a datetime once checked


class FastTrackerEvent(msgspec.Struct):
    type: str
    id: str | None = None
    time: _EventTime | None = None
    properties: dict[str, Any] = msgspec.field(default_factory=_object)
    context: dict[str, Any] = msgspec.field(default_factory=_object)
    options: dict[str, Any] = msgspec.field(default_factory=_object)
    tags: list[str] = msgspec.field(default_factory=list)


class FastTrackerPayload(msgspec.Struct):
    source: _SourceRef
    events: list[FastTrackerEvent]
    session: _Ref | None = None
    profile: _Ref | None = None
    context: dict[str, Any] = msgspec.field(default_factory=_object)
    properties: dict[str, Any] = msgspec.field(default_factory=_object)
    options: dict[str, Any] = msgspec.field(default_factory=_object)
    profile_less: bool = False


_TRACKER = msgspec.json.Decoder(FastTrackerPayload)


class _Slow(Exception):
    """The body needs the pydantic models' judgement."""


def _plain(text: str, limit: int) -> str:
    """``text`` as a stripping, length-limited pydantic string gives it, when nothing is
    to strip; a string with whitespace at either end or over ``limit`` goes the slow way.
    (Python's ``isspace`` holds for every character pydantic strips, and a few more.)"""
    if text and (text[0].isspace() or text[-1].isspace()) or len(text) > limit:
        raise _Slow
    return text


def _client_id(ref: _Ref | FastTrackerEvent | None) -> None:
    if ref is not None and ref.id is not None:
        if ref.id == "":
            ref.id = None
        elif not _CLIENT_ID.fullmatch(ref.id):
            raise _Slow


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return _INSTANT.validate_python(value)
    except ValidationError:
        raise _Slow from None


def decode_tracker(body: bytes) -> FastTrackerPayload | None:
    """A ``/track`` body the fast way, or :data:`SLOW`."""
    try:
        if _needs_orjson(body):
            raise _Slow
        payload = _TRACKER.decode(body)
        if not 1 <= len(payload.source.id) <= 128 or not 1 <= len(payload.events) <= 2500:
            raise _Slow
        _client_id(payload.session)
        _client_id(payload.profile)
        for event in payload.events:
            if not event.type or len(event.tags) > 64:
                raise _Slow
            _plain(event.type, 128)
            _client_id(event)
            if event.time is not None:
                event.time.create = _instant(event.time.create)
    except (msgspec.DecodeError, RecursionError, _Slow):
        return SLOW
    return payload


# --- Segment ---------------------------------------------------------------------------

_Id = str | int | float | None


class FastSegmentMessage(msgspec.Struct):
    type: SegmentType | None = None
    userId: _Id = None
    anonymousId: _Id = None
    messageId: _Id = None
    timestamp: Any = None  # datetimes once checked
    originalTimestamp: Any = None
    sentAt: Any = None
    context: dict[str, Any] = msgspec.field(default_factory=_object)  # null too, once checked
    integrations: dict[str, Any] = msgspec.field(default_factory=_object)
    properties: dict[str, Any] = msgspec.field(default_factory=_object)
    traits: dict[str, Any] = msgspec.field(default_factory=_object)
    event: str | None = None
    name: str | None = None
    category: str | None = None
    groupId: _Id = None
    previousId: _Id = None
    writeKey: str | None = None


class FastSegmentBatch(msgspec.Struct):
    batch: list[FastSegmentMessage]
    context: dict[str, Any] = msgspec.field(default_factory=_object)
    integrations: dict[str, Any] = msgspec.field(default_factory=_object)
    sentAt: Any = None
    writeKey: str | None = None


# JSON null for an object is an empty object (core/segment.py JsonObject): the structs
# take None there through these variants' fields, normalised by _message
class _NullableMessage(FastSegmentMessage):
    context: dict[str, Any] | None = msgspec.field(default_factory=_object)  # type: ignore[assignment]
    integrations: dict[str, Any] | None = msgspec.field(default_factory=_object)  # type: ignore[assignment]
    properties: dict[str, Any] | None = msgspec.field(default_factory=_object)  # type: ignore[assignment]
    traits: dict[str, Any] | None = msgspec.field(default_factory=_object)  # type: ignore[assignment]


class _NullableBatch(FastSegmentBatch):
    batch: list[_NullableMessage]  # type: ignore[assignment]
    context: dict[str, Any] | None = msgspec.field(default_factory=_object)  # type: ignore[assignment]
    integrations: dict[str, Any] | None = msgspec.field(default_factory=_object)  # type: ignore[assignment]


_BATCH = msgspec.json.Decoder(_NullableBatch)
_MESSAGE = msgspec.json.Decoder(_NullableMessage)


def _segment_id(value: Any) -> str | None:
    """As ``core/segment.py``'s ``SegmentId``: numbers as text, blank is none, 1-256."""
    if value is None:
        return None
    if value.__class__ is not str:
        value = str(value)
    if value == "":
        return None
    if not _plain(value, 256):
        raise _Slow  # only whitespace: pydantic strips it to "" and refuses it
    text: str = value
    return text


def _message(message: _NullableMessage) -> None:
    message.userId = _segment_id(message.userId)
    message.anonymousId = _segment_id(message.anonymousId)
    message.messageId = _segment_id(message.messageId)
    message.groupId = _segment_id(message.groupId)
    message.previousId = _segment_id(message.previousId)
    message.timestamp = _instant(message.timestamp)
    message.originalTimestamp = _instant(message.originalTimestamp)
    message.sentAt = _instant(message.sentAt)
    if message.context is None:
        message.context = {}
    if message.integrations is None:
        message.integrations = {}
    if message.properties is None:
        message.properties = {}
    if message.traits is None:
        message.traits = {}
    if message.event is not None:
        _plain(message.event, 128)
    if message.name is not None:
        _plain(message.name, 256)
    if message.category is not None:
        _plain(message.category, 256)


def decode_segment_batch(body: bytes) -> FastSegmentBatch | None:
    """A ``/v1/batch`` body the fast way (types and fields not yet required), or
    :data:`SLOW`."""
    try:
        if _needs_orjson(body):
            raise _Slow
        batch = _BATCH.decode(body)
        if len(batch.batch) > MAX_BATCH_MESSAGES:
            raise _Slow
        for message in batch.batch:
            _message(message)
        if batch.context is None:
            batch.context = {}
        if batch.integrations is None:
            batch.integrations = {}
        batch.sentAt = _instant(batch.sentAt)
    except (msgspec.DecodeError, RecursionError, _Slow):
        return SLOW
    return batch


def decode_segment_message(body: bytes, kind: SegmentType) -> FastSegmentMessage | None:
    """A single call's body (``/v1/<kind>``) the fast way, its type the route's, or
    :data:`SLOW`."""
    try:
        if _needs_orjson(body):
            raise _Slow
        message = _MESSAGE.decode(body)
        _message(message)
    except (msgspec.DecodeError, RecursionError, _Slow):
        return SLOW
    message.type = kind
    return message
