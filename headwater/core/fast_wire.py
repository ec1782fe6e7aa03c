"""The collector's wire bodies checked by msgspec, when they are plainly valid (pure).

A ``/track`` or ``/v1/*`` body, once orjson has parsed it, is checked by msgspec's C
validation (``msgspec.convert``) against the structs below and then in Python against
the remaining rules of the pydantic wire models (:class:`headwater.core.intake.TrackerPayload`,
:class:`headwater.core.segment.SegmentBatch`), which stay the contract: they document the
API (OpenAPI) and they decide. The structs are stricter than the models on purpose (no
coercions, no whitespace to strip, no blank ids): whatever they do not take as it is,
:data:`SLOW` is returned and the caller validates the same parsed data the pydantic way,
which accepts it as before or refuses it with the same status and reason as before. So
a body the fast way takes gives the values the models give, and any other body gets
exactly the answer it got before (``tests/unit/core/test_fast_wire.py`` checks both on
generated bodies). Times are read by pydantic's own datetime rules (a ``TypeAdapter``).

The JSON is still parsed by orjson, and the free-form objects (``context``,
``properties``, ...) are written again by orjson, not kept as raw slices of the body:
msgspec's own decoder reads integers beyond 64 bits and skips unknown keys differently
from orjson (it does not check their UTF-8 or number range), and a raw slice would skip
the checks that every consumer of the intake record relies on. Measured, parsing was not
the cost anyway: orjson reads the 2 KB ``/track`` body in ~5 us; pydantic's validation
after it was the part to cut.
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
    "FastSegmentBatch",
    "FastSegmentMessage",
    "FastTrackerPayload",
    "SegmentType",
    "segment_batch_from",
    "segment_message_from",
    "tracker_from",
]

MAX_BATCH_MESSAGES = 2500
SegmentType = Literal["track", "identify", "page", "screen", "group", "alias"]
SEGMENT_TYPES: tuple[SegmentType, ...] = ("track", "identify", "page", "screen", "group", "alias")

SLOW: Final = None
"""Returned when the body needs the pydantic models' judgement."""

_CLIENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_INSTANT: TypeAdapter[datetime | None] = TypeAdapter(datetime | None)


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


# What the structs take before the checks below: the free-form objects as orjson parsed
# them (Any: msgspec would copy a dict[str, Any], and freeing the copies cost more than
# checking each is a dict), numbers as Segment ids, null for a Segment object
class _EventInput(FastTrackerEvent):
    properties: Any = msgspec.field(default_factory=_object)
    context: Any = msgspec.field(default_factory=_object)
    options: Any = msgspec.field(default_factory=_object)


class _TrackerInput(FastTrackerPayload):
    events: list[_EventInput]  # type: ignore[assignment]
    context: Any = msgspec.field(default_factory=_object)
    properties: Any = msgspec.field(default_factory=_object)
    options: Any = msgspec.field(default_factory=_object)


def _is_object(value: Any) -> None:
    if value.__class__ is not dict:
        raise _Slow


class _Slow(Exception):
    """The body needs the pydantic models' judgement."""


def _plain(text: str, limit: int) -> str:
    """``text`` as a stripping, length-limited pydantic string gives it, when nothing is
    to strip; a string with whitespace at either end or over ``limit`` goes the slow way.
    (Python's ``isspace`` holds for every character pydantic strips, and a few more.)"""
    if (text and (text[0].isspace() or text[-1].isspace())) or len(text) > limit:
        raise _Slow
    return text


def _client_id(ref: _Ref | FastTrackerEvent | None) -> None:
    if ref is not None and ref.id is not None:
        if ref.id == "":
            ref.id = None
        elif not _CLIENT_ID.fullmatch(ref.id):
            raise _Slow


def _instant(value: Any) -> datetime | None:
    try:
        return _INSTANT.validate_python(value)
    except ValidationError:
        raise _Slow from None


def tracker_from(data: Any) -> FastTrackerPayload | None:
    """A ``/track`` body parsed from JSON (object keys are text) the fast way, or
    :data:`SLOW`. Its objects are ``data``'s own, not copies."""
    try:
        payload = msgspec.convert(data, _TrackerInput)
        if not 1 <= len(payload.source.id) <= 128 or not 1 <= len(payload.events) <= 2500:
            raise _Slow
        _client_id(payload.session)
        _client_id(payload.profile)
        _is_object(payload.context)
        _is_object(payload.properties)
        _is_object(payload.options)
        for event in payload.events:
            if not event.type or len(event.tags) > 64:
                raise _Slow
            _is_object(event.properties)
            _is_object(event.context)
            _is_object(event.options)
            _plain(event.type, 128)
            _client_id(event)
            if event.time is not None and event.time.create is not None:
                event.time.create = _instant(event.time.create)
    except (msgspec.ValidationError, RecursionError, _Slow):
        return SLOW
    return payload


# --- Segment ---------------------------------------------------------------------------

_Id = str | int | float | None


class FastSegmentMessage(msgspec.Struct):
    type: SegmentType | None = None
    userId: str | None = None
    anonymousId: str | None = None
    messageId: str | None = None
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
    groupId: str | None = None
    previousId: str | None = None
    writeKey: str | None = None


class FastSegmentBatch(msgspec.Struct):
    batch: list[FastSegmentMessage]
    context: dict[str, Any] = msgspec.field(default_factory=_object)
    integrations: dict[str, Any] = msgspec.field(default_factory=_object)
    sentAt: Any = None
    writeKey: str | None = None


# What the structs take before _message normalises it, as core/segment.py's models do:
# numbers as ids (SegmentId) and null for an object (JsonObject, an empty object)
class _NullableMessage(FastSegmentMessage):
    userId: _Id = None  # type: ignore[assignment]
    anonymousId: _Id = None  # type: ignore[assignment]
    messageId: _Id = None  # type: ignore[assignment]
    groupId: _Id = None  # type: ignore[assignment]
    previousId: _Id = None  # type: ignore[assignment]
    context: Any = msgspec.field(default_factory=_object)
    integrations: Any = msgspec.field(default_factory=_object)
    properties: Any = msgspec.field(default_factory=_object)
    traits: Any = msgspec.field(default_factory=_object)


class _NullableBatch(FastSegmentBatch):
    batch: list[_NullableMessage]  # type: ignore[assignment]
    context: Any = msgspec.field(default_factory=_object)
    integrations: Any = msgspec.field(default_factory=_object)


def _segment_id(value: Any) -> str | None:
    """As ``core/segment.py``'s ``SegmentId`` (not None): numbers as text, blank is none,
    1-256 characters."""
    if value.__class__ is not str:
        value = str(value)
    if value == "":
        return None
    return _plain(value, 256)


def _segment_object(value: Any) -> dict[str, Any]:
    """As ``core/segment.py``'s ``JsonObject``: an object, null for an empty one."""
    if value.__class__ is dict:
        found: dict[str, Any] = value
        return found
    if value is None:
        return {}
    raise _Slow


def _message(message: _NullableMessage) -> None:
    # most fields of most calls are absent: test before calling
    if message.userId is not None:
        message.userId = _segment_id(message.userId)
    if message.anonymousId is not None:
        message.anonymousId = _segment_id(message.anonymousId)
    if message.messageId is not None:
        message.messageId = _segment_id(message.messageId)
    if message.groupId is not None:
        message.groupId = _segment_id(message.groupId)
    if message.previousId is not None:
        message.previousId = _segment_id(message.previousId)
    if message.timestamp is not None:
        message.timestamp = _instant(message.timestamp)
    if message.originalTimestamp is not None:
        message.originalTimestamp = _instant(message.originalTimestamp)
    if message.sentAt is not None:
        message.sentAt = _instant(message.sentAt)
    message.context = _segment_object(message.context)
    message.integrations = _segment_object(message.integrations)
    message.properties = _segment_object(message.properties)
    message.traits = _segment_object(message.traits)
    if message.event is not None:
        _plain(message.event, 128)
    if message.name is not None:
        _plain(message.name, 256)
    if message.category is not None:
        _plain(message.category, 256)


def segment_batch_from(data: dict[str, Any]) -> FastSegmentBatch | None:
    """A parsed ``/v1/batch`` body the fast way (types and fields not yet required), or
    :data:`SLOW`."""
    try:
        batch = msgspec.convert(data, _NullableBatch)
        if len(batch.batch) > MAX_BATCH_MESSAGES:
            raise _Slow
        for message in batch.batch:
            _message(message)
        batch.context = _segment_object(batch.context)
        batch.integrations = _segment_object(batch.integrations)
        if batch.sentAt is not None:
            batch.sentAt = _instant(batch.sentAt)
    except (msgspec.ValidationError, RecursionError, _Slow):
        return SLOW
    return batch


def segment_message_from(data: dict[str, Any], kind: SegmentType) -> FastSegmentMessage | None:
    """A parsed single call (``/v1/<kind>``, its ``type`` removed) the fast way, its type
    the route's, or :data:`SLOW`."""
    try:
        message = msgspec.convert(data, _NullableMessage)
        _message(message)
    except (msgspec.ValidationError, RecursionError, _Slow):
        return SLOW
    message.type = kind
    return message
