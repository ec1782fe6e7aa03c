"""The Segment HTTP Tracking API on the wire: bodies, messages and write keys (pure).

``/v1/track``, ``/v1/identify``, ``/v1/page``, ``/v1/screen``, ``/v1/group``,
``/v1/alias`` carry one message; ``/v1/batch`` carries up to 2,500 under ``batch`` with
``context``, ``integrations`` and ``sentAt`` that apply to each of them. Turning
messages into Headwater events is :mod:`headwater.core.segment_mapping`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as _ValidationError

from headwater.core.fast_wire import (
    MAX_BATCH_MESSAGES,
    SEGMENT_TYPES,
    SLOW,
    FastSegmentBatch,
    FastSegmentMessage,
    SegmentType,
    segment_batch_from,
    segment_message_from,
)
from headwater.core.intake import invalid_input, load_json_object
from headwater.errors import InvalidInput, UnknownSource

__all__ = [
    "MAX_BATCH_MESSAGES",
    "SEGMENT_TYPES",
    "AnySegmentBatch",
    "AnySegmentMessage",
    "SegmentBatch",
    "SegmentMessage",
    "SegmentType",
    "parse_segment_batch",
    "parse_segment_message",
    "require_fields",
    "write_key_of",
]


def _id_text(value: object) -> object:
    """SDKs send ids as strings or numbers (analytics-python accepts both); blank is none."""
    if isinstance(value, bool):
        return value  # refused below: true is not an id
    if isinstance(value, int | float):
        return str(value)
    if value == "":
        return None
    return value


def _null_is_empty(value: object) -> object:
    return {} if value is None else value


SegmentId = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)] | None,
    BeforeValidator(_id_text),
]
JsonObject = Annotated[dict[str, Any], BeforeValidator(_null_is_empty)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=256)] | None


class SegmentMessage(BaseModel):
    """One Segment call; the fields its ``type`` needs are checked by :meth:`require`."""

    model_config = ConfigDict(extra="ignore")

    type: SegmentType | None = None
    userId: SegmentId = None
    anonymousId: SegmentId = None
    messageId: SegmentId = None
    timestamp: datetime | None = None
    originalTimestamp: datetime | None = None
    sentAt: datetime | None = None
    context: JsonObject = Field(default_factory=dict)
    integrations: JsonObject = Field(default_factory=dict)
    properties: JsonObject = Field(default_factory=dict)
    traits: JsonObject = Field(default_factory=dict)
    event: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] | None = None
    name: Name = None
    category: Name = None
    groupId: SegmentId = None
    previousId: SegmentId = None
    writeKey: str | None = None

    def require(self, kind: SegmentType, at: str) -> None:
        """Refuse (422, naming the field) what Segment itself would refuse for ``kind``."""
        require_fields(self, kind, at)


class SegmentBatch(BaseModel):
    """Body of ``POST /v1/batch``."""

    model_config = ConfigDict(extra="ignore")

    batch: list[SegmentMessage] = Field(max_length=MAX_BATCH_MESSAGES)
    context: JsonObject = Field(default_factory=dict)
    integrations: JsonObject = Field(default_factory=dict)
    sentAt: datetime | None = None
    writeKey: str | None = None


AnySegmentMessage = SegmentMessage | FastSegmentMessage
AnySegmentBatch = SegmentBatch | FastSegmentBatch
"""A call or a batch as the pydantic models or the fast path (core/fast_wire.py) read
it: the same fields with the same values."""


def require_fields(message: AnySegmentMessage, kind: SegmentType, at: str) -> None:
    """Refuse (422, naming the field) what Segment itself would refuse for ``kind``."""
    if message.userId is None and message.anonymousId is None:
        raise InvalidInput(f"{at}userId or {at}anonymousId is required", field=f"{at}userId")
    if kind == "track" and not message.event:
        raise InvalidInput(f"{at}event is required for track", field=f"{at}event")
    if kind == "group" and message.groupId is None:
        raise InvalidInput(f"{at}groupId is required for group", field=f"{at}groupId")
    if kind == "alias":
        if message.previousId is None:
            raise InvalidInput(f"{at}previousId is required for alias", field=f"{at}previousId")
        if message.userId is None:
            raise InvalidInput(f"{at}userId is required for alias", field=f"{at}userId")


def parse_segment_message(body: bytes, kind: SegmentType) -> AnySegmentBatch:
    """A single-call body (``/v1/<kind>``) as a batch of one; its type is the route's."""
    data = load_json_object(body)
    data.pop("type", None)  # the route says what it is
    fast = segment_message_from(data, kind)
    if fast is not SLOW:
        require_fields(fast, kind, "")
        return FastSegmentBatch(batch=[fast], writeKey=fast.writeKey)
    try:
        message = SegmentMessage.model_validate(data)
    except _ValidationError as exc:
        raise invalid_input(exc) from None
    message = message.model_copy(update={"type": kind})
    message.require(kind, "")
    return SegmentBatch(batch=[message], writeKey=message.writeKey)


def parse_segment_batch(body: bytes) -> AnySegmentBatch:
    """A ``/v1/batch`` body; every message must name a known type and its fields."""
    data = load_json_object(body)
    if "batch" not in data:
        raise InvalidInput("batch is required", field="batch")
    parsed: AnySegmentBatch | None = segment_batch_from(data)
    if parsed is SLOW:
        try:
            parsed = SegmentBatch.model_validate(data)
        except _ValidationError as exc:
            raise invalid_input(exc) from None
    messages: Sequence[AnySegmentMessage] = parsed.batch
    for index, message in enumerate(messages):
        at = f"batch[{index}]."
        if message.type is None:
            raise InvalidInput(f"{at}type is required", field=f"{at}type")
        require_fields(message, message.type, at)
    return parsed


def _basic_user(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, _ = decoded.partition(":")
    return user or None


def write_key_of(authorization: str | None, body_key: str | None) -> str:
    """The write key: HTTP Basic user (password empty) or ``writeKey`` in the body.

    Real SDKs send either or both; when both are sent they must agree.
    """
    header_key = _basic_user(authorization)
    body_key = body_key or None
    if header_key and body_key and header_key != body_key:
        raise UnknownSource("the write keys in the header and the body differ", field="writeKey")
    key = header_key or body_key
    if key is None:
        raise UnknownSource(
            "a write key is required: HTTP Basic user or writeKey in the body",
            field="writeKey",
        )
    return key
