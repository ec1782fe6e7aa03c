"""Intake: turn what an entry point received into one Avro-ready intake batch.

Every entry point (``/track``, ``/collect``, the Segment-compatible ``/v1/*`` through
core/segment_mapping.py, and the bridges to come) goes through here, so validation,
limits, id assignment and errors are the same everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from headwater.core.bots import BOT_TAG, is_bot
from headwater.core.fast_wire import SLOW, FastTrackerEvent, FastTrackerPayload, tracker_from
from headwater.core.ids import IdPool, new_id
from headwater.core.records import EMPTY_OBJECT, IntakeBatch, intake_batch, intake_event
from headwater.core.sources import EventSource
from headwater.core.tenancy import profile_key
from headwater.core.times import epoch_ms
from headwater.errors import InvalidInput, MalformedInput, PayloadTooLarge

__all__ = [
    "JSON_EXPECTED",
    "Accepted",
    "AnyTrackerPayload",
    "IntakeLimits",
    "RequestMeta",
    "TrackerPayload",
    "build_collect_batch",
    "build_tracker_batch",
    "encode_json",
    "field_path",
    "invalid_input",
    "load_json",
    "load_json_object",
    "parse_tracker_payload",
    "partition_key",
    "tracker_payload",
]

# Ids a client may choose (events, sessions, profiles): the same rule on every route.
CLIENT_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"
_CLIENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")

IdFactory = Callable[[], str]


# --- wire models (Tracardi tracker protocol) ------------------------------------------


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


ClientId = Annotated[
    Annotated[str, StringConstraints(pattern=CLIENT_ID_PATTERN)] | None,
    BeforeValidator(_blank_is_none),
]


class _Ref(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: ClientId = None


class _SourceRef(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=128)


class _EventTime(BaseModel):
    model_config = ConfigDict(extra="ignore")
    create: datetime | None = None


class TrackerEvent(BaseModel):
    """One event in a ``/track`` request."""

    model_config = ConfigDict(extra="ignore")

    type: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    id: ClientId = None
    time: _EventTime | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list, max_length=64)


class TrackerPayload(BaseModel):
    """Body of ``POST /track``; unknown keys (``metadata``, ``device``, ...) are ignored."""

    model_config = ConfigDict(extra="ignore")

    source: _SourceRef
    session: _Ref | None = None
    profile: _Ref | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    events: list[TrackerEvent] = Field(min_length=1, max_length=2500)
    profile_less: bool = False


# --- results ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IntakeLimits:
    max_event_bytes: int
    max_request_bytes: int


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """What the entry point knows about the request besides its body."""

    received_at: int  # epoch milliseconds
    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    """An intake batch ready to encode, with what the caller is told."""

    key: bytes
    record: IntakeBatch
    profile_id: str | None
    session_id: str | None
    event_ids: list[str]


# --- parsing ------------------------------------------------------------------------


def field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


JSON_EXPECTED = "expected a JSON body (content-type application/json)"


def load_json(body: bytes, expected: str = JSON_EXPECTED) -> Any:
    """A request body as JSON; 400 saying what was ``expected`` when it is not JSON."""
    try:
        return orjson.loads(body)  # refuses numbers no double can hold (1e999)
    except orjson.JSONDecodeError as exc:
        raise MalformedInput(f"{expected}; this is invalid JSON: {exc}") from None


def load_json_object(body: bytes, expected: str = JSON_EXPECTED) -> dict[str, Any]:
    """A request body that must be a JSON object; 400 for bad JSON, 422 for another value."""
    data = load_json(body, expected)
    if not isinstance(data, dict):
        raise InvalidInput("body must be a JSON object", field="body")
    return data


def invalid_input(exc: ValidationError) -> InvalidInput:
    """The first of pydantic's complaints, as a 422 naming its field."""
    first = exc.errors(include_url=False)[0]
    field = field_path(tuple(first["loc"]))
    return InvalidInput(f"{field}: {first['msg']}", field=field)


AnyTrackerPayload = TrackerPayload | FastTrackerPayload
"""A ``/track`` body as the pydantic model or the fast path (core/fast_wire.py) reads it:
the same fields with the same values."""


def parse_tracker_payload(body: bytes) -> AnyTrackerPayload:
    """Parse and validate a ``/track`` body; 400 for bad JSON, 422 naming the field."""
    return tracker_payload(load_json(body))


def tracker_payload(data: Any) -> AnyTrackerPayload:
    """Validate a ``/track`` body already decoded (bridges and imports build one); 422
    naming the field. A plainly valid body is checked the fast way (core/fast_wire.py)."""
    fast = tracker_from(data)
    if fast is not SLOW:
        return fast
    try:
        return TrackerPayload.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc) from None


def encode_json(value: dict[str, Any], field: str, at: str = "") -> bytes:
    """``value`` as JSON; 422 naming ``at`` + ``field`` (joined only then: a batch's
    messages name theirs ``batch[i].``) when it can't be."""
    if not value:
        return EMPTY_OBJECT
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        field = at + field
        raise InvalidInput(f"{field}: {exc}", field=field) from None


def _millis(moment: datetime | None, default: int) -> int:
    return default if moment is None else epoch_ms(moment)


def partition_key(tenant: str, env: str, profile_id: str | None, fallback: str) -> bytes:
    """Per-profile work is keyed tenant:profile; profile-less events spread by session/event."""
    return profile_key(tenant, env, profile_id if profile_id else f"~{fallback}")


def build_tracker_batch(
    payload: AnyTrackerPayload,
    source: EventSource,
    meta: RequestMeta,
    limits: IntakeLimits,
    *,
    profile_less: bool = False,
    make_id: IdFactory | None = None,
    channel: str = "track",
) -> Accepted:
    """Assign missing ids, enforce the per-event limit and shape the intake record.
    ``channel``: the entry point (the bridges build their events through here too)."""
    make_id = make_id or IdPool(len(payload.events) + 2)
    profile_less = profile_less or payload.profile_less
    given_profile = payload.profile.id if payload.profile else None
    given_session = payload.session.id if payload.session else None
    profile_id = None if profile_less else (given_profile or make_id())
    session_id = given_session or make_id()

    events = []
    event_ids = []
    bot = is_bot(meta.user_agent)
    tracked: Sequence[TrackerEvent | FastTrackerEvent] = payload.events
    for index, event in enumerate(tracked):
        field = f"events[{index}]"
        properties = encode_json(event.properties, f"{field}.properties")
        context = encode_json(event.context, f"{field}.context")
        options = encode_json(event.options, f"{field}.options")
        size = len(properties) + len(context) + len(options) + len(event.type)
        if size > limits.max_event_bytes:
            raise PayloadTooLarge(
                f"{field} is {size} bytes, over the {limits.max_event_bytes}-byte limit",
                field=field,
            )
        event_id = event.id or make_id()
        event_ids.append(event_id)
        events.append(
            intake_event(
                event_id,
                event.type,
                _millis(event.time.create if event.time else None, meta.received_at),
                properties=properties,
                context=context,
                options=options,
                tags=[*event.tags, BOT_TAG] if bot else event.tags,
            )
        )

    record = intake_batch(
        source.tenant,
        source.env,
        source.id,
        channel,
        meta.received_at,
        events,
        profile_id=profile_id,
        profile_assigned=profile_id is not None and given_profile is None,
        session_id=session_id,
        session_assigned=given_session is None,
        profile_less=profile_less,
        ip=meta.ip,
        user_agent=meta.user_agent,
        context=encode_json(payload.context, "context"),
        properties=encode_json(payload.properties, "properties"),
    )
    return Accepted(
        key=partition_key(source.tenant, source.env, profile_id, session_id),
        record=record,
        profile_id=profile_id,
        session_id=session_id,
        event_ids=event_ids,
    )


def build_collect_batch(
    event_type: str,
    properties: dict[str, Any],
    source: EventSource,
    session_id: str | None,
    meta: RequestMeta,
    limits: IntakeLimits,
    *,
    make_id: IdFactory = new_id,
    channel: str = "collect",
) -> Accepted:
    """A webhook call (``/collect``) is one event whose properties are the request data.

    Without a session id the event is profile-less: no profile is created for it.
    ``/redirect`` clicks are made the same way on their own channel.
    """
    event_type = event_type.strip()
    if not event_type or len(event_type) > 128:
        raise InvalidInput("event_type must be 1-128 characters", field="event_type")
    if session_id is not None and not _CLIENT_ID.fullmatch(session_id):
        raise InvalidInput("session_id has characters that are not allowed", field="session_id")
    encoded = encode_json(properties, "properties")
    if len(encoded) > limits.max_event_bytes:
        raise PayloadTooLarge(
            f"event is {len(encoded)} bytes, over the {limits.max_event_bytes}-byte limit",
            field="properties",
        )
    event_id = make_id()
    event = intake_event(
        event_id,
        event_type,
        meta.received_at,
        properties=encoded,
        tags=[BOT_TAG] if is_bot(meta.user_agent) else [],
    )
    record = intake_batch(
        source.tenant,
        source.env,
        source.id,
        channel,
        meta.received_at,
        [event],
        session_id=session_id,
        profile_less=session_id is None,
        ip=meta.ip,
        user_agent=meta.user_agent,
    )
    return Accepted(
        key=partition_key(source.tenant, source.env, None, session_id or event_id),
        record=record,
        profile_id=None,
        session_id=session_id,
        event_ids=[event_id],
    )
