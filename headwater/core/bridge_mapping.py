"""One channel message -> one intake batch, through the collector's own builder (pure).

The mapping (``core/bridge_config.py``) names where the event type, id, profile id,
properties and time come from. The batch is then made by
:func:`headwater.core.intake.build_tracker_batch`, as for ``/track``: the same
validation, per-event limit, id rules and ``tenant:env:profile`` key.

An email bridge's message is a raw RFC 5322 message: it is parsed
(``core/email_message.py``) instead of read as JSON, and the mapping's specs read the
parsed fields; its default event id is its Message-ID (else a hash of the message).

Anything that keeps a message from becoming an event (not JSON, too large, a value the
mapping names is missing or invalid) raises an :class:`~headwater.errors.InputError`
whose text is the reason the bridge dead-letters it with.

The event id is a hash of what ``mapping.event_id`` names (by default the topic and the
whole payload) and of the bridge id: a redelivered message is the same event, which the
profile agent and the search index drop as a duplicate. (MQTT packet ids are reused and
say nothing across connections.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from headwater.core.bridge_config import Bridge, ValueSpec, parse_spec
from headwater.core.email_message import parse_email
from headwater.core.ids import name_id
from headwater.core.intake import (
    Accepted,
    IntakeLimits,
    RequestMeta,
    build_tracker_batch,
    load_json,
    tracker_payload,
)
from headwater.core.mapping import get_path, is_missing
from headwater.core.sources import EventSource
from headwater.errors import InvalidInput, PayloadTooLarge

__all__ = ["ChannelMessage", "MessageMapper"]

_NS = bytes.fromhex("3f2c8e1a9b7d4c6e8a0f1b2c3d4e5f60")  # event ids of bridged messages
_MISSING: Any = object()
_TIME = TypeAdapter(datetime)


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    """What a bridge received, whatever the channel."""

    body: bytes
    topic: str  # MQTT topic, AMQP routing key
    received_at: int  # epoch ms
    separator: str = "/"  # between topic levels: "/" (MQTT), "." (AMQP)
    headers: Mapping[str, Any] = field(default_factory=dict)
    message_id: str | None = None
    size: int | None = None  # the whole message's, when ``body`` is only its beginning


class MessageMapper:
    """Applies one bridge's mapping; built once per bridge version."""

    def __init__(self, bridge: Bridge, limits: IntakeLimits) -> None:
        mapping = bridge.mapping
        self.bridge = bridge
        self._limits = limits
        self._source = EventSource(
            id=bridge.id, tenant=bridge.tenant, env=bridge.env, name=bridge.name,
            type=bridge.channel,
        )  # fmt: skip
        self._type = parse_spec(mapping.event_type)
        self._id = [parse_spec(s) for s in mapping.event_id]
        self._profile = parse_spec(mapping.profile_id) if mapping.profile_id else None
        self._time = parse_spec(mapping.event_time) if mapping.event_time else None
        self._properties = (
            None
            if mapping.properties is None
            else {name: parse_spec(spec) for name, spec in mapping.properties.items()}
        )

    def __call__(self, message: ChannelMessage) -> Accepted:
        message, payload = self._read(message)
        event_id = self._event_id(message, payload)
        profile_id = self._profile_id(message, payload)
        event: dict[str, Any] = {
            "id": event_id,
            "type": self._text(self._type, message, payload, "event_type"),
            "properties": self._properties_of(message, payload),
            "context": {"bridge": {"channel": self.bridge.channel, "topic": message.topic}},
        }
        if self._time is not None:
            event["time"] = {"create": self._event_time(message, payload)}
        body = {
            "source": {"id": self.bridge.id},
            "profile": {"id": profile_id} if profile_id else None,
            "events": [event],
        }
        tracked = tracker_payload(body)
        return build_tracker_batch(
            tracked,
            self._source,
            RequestMeta(received_at=message.received_at),
            self._limits,
            profile_less=profile_id is None,
            make_id=_derived(event_id),
            channel=self.bridge.channel,
        )

    def _read(self, message: ChannelMessage) -> tuple[ChannelMessage, Any]:
        """The payload the specs read: the JSON body, or the parsed email (its headers
        and Message-ID then serve ``header:NAME`` and ``message_id``)."""
        bridge = self.bridge
        if bridge.is_email:
            parsed = parse_email(
                message.body, bridge.email_limits, bridge.subscription.headers, message.size
            )
            return replace(message, headers=parsed.headers, message_id=parsed.message_id), (
                parsed.fields
            )
        limit = self._limits.max_event_bytes
        if len(message.body) > limit:
            raise PayloadTooLarge(
                f"payload is {len(message.body)} bytes, over the {limit}-byte limit"
            )
        return message, load_json(message.body, "expected a JSON payload")

    # --- values -------------------------------------------------------------------

    def _value(self, spec: ValueSpec, message: ChannelMessage, payload: Any) -> Any:
        if spec.value is not None:
            return spec.value
        if spec.topic:
            if spec.level is None:
                return message.topic
            levels = message.topic.split(message.separator)
            if -len(levels) <= spec.level < len(levels):
                return levels[spec.level]
            return _MISSING
        if spec.path is not None:
            found = get_path(payload, spec.path) if isinstance(payload, dict) else _MISSING
            return _MISSING if is_missing(found) else found
        if spec.header is not None:
            name = spec.header.lower() if self.bridge.is_email else spec.header
            return message.headers.get(name, _MISSING)
        return message.message_id if message.message_id else _MISSING

    def _text(self, spec: ValueSpec, message: ChannelMessage, payload: Any, name: str) -> str:
        value = self._value(spec, message, payload)
        if isinstance(value, bytes):
            value = value.decode(errors="replace")
        if value is _MISSING or value is None or value == "":
            raise InvalidInput(f"{name}: {spec.text} is missing from the message", field=name)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidInput(f"{name}: {spec.text} is not a text or a number", field=name)
        return str(value)

    def _event_id(self, message: ChannelMessage, payload: Any) -> str:
        if self._id:
            parts = [self._text(spec, message, payload, "event_id") for spec in self._id]
        elif self.bridge.is_email:  # a message delivered again has the same Message-ID
            parts = [message.message_id or hashlib.sha256(message.body).hexdigest()]
        else:
            parts = [message.topic, hashlib.sha256(message.body).hexdigest()]
        return name_id(_NS, "\x00".join([self.bridge.id, *parts]))

    def _profile_id(self, message: ChannelMessage, payload: Any) -> str | None:
        if self._profile is None:
            return None
        if self.bridge.mapping.profile_required:
            return self._text(self._profile, message, payload, "profile_id")
        value = self._value(self._profile, message, payload)
        if value is _MISSING or value is None or value == "":
            return None
        return self._text(self._profile, message, payload, "profile_id")

    def _properties_of(self, message: ChannelMessage, payload: Any) -> dict[str, Any]:
        if self._properties is None:
            return payload if isinstance(payload, dict) else {"value": payload}
        found = {
            name: self._value(spec, message, payload) for name, spec in self._properties.items()
        }
        return {name: value for name, value in found.items() if value is not _MISSING}

    def _event_time(self, message: ChannelMessage, payload: Any) -> datetime:
        assert self._time is not None
        value = self._value(self._time, message, payload)
        if value is _MISSING or value is None:
            raise InvalidInput(
                f"event_time: {self._time.text} is missing from the message", field="event_time"
            )
        try:
            return _TIME.validate_python(value)
        except ValidationError:
            raise InvalidInput(
                f"event_time: {str(value)[:64]!r} is neither an ISO 8601 time nor an epoch",
                field="event_time",
            ) from None


def _derived(event_id: str) -> Callable[[], str]:
    """Ids the builder assigns (the session of the event), made from the event id: a
    redelivery builds the very same record, down to its key."""
    count = 0

    def make_id() -> str:
        nonlocal count
        count += 1
        return name_id(_NS, f"{event_id}/{count}")

    return make_id
