"""Segment messages as Headwater intake batches (pure).

The rules, also in ``docs/api.md``:

- **Profile**: ``uuid5(tenant/anonymous/<anonymousId>)`` when the message has an
  ``anonymousId``, else ``uuid5(tenant/user/<userId>)``. Anonymous and identified calls
  from one device carry the same ``anonymousId`` and so land on one profile; ``userId``
  travels with every event (``options.user_id``) for identity resolution to merge on.
- **Event id**: ``uuid5(tenant/source/<messageId>)``, so a message sent twice (SDK
  retries) has one id and the agents' de-duplication by id drops the repeat; a message
  without ``messageId`` gets a random id.
- **Time**: ``receivedAt - (sentAt - timestamp)`` when both are known (device clocks
  are wrong, their differences are not), else ``timestamp``, else ``receivedAt``.
- **Type**: ``track`` -> its ``event``; ``page``/``screen`` -> ``page-view``/``screen-view``;
  ``identify``, ``group``, ``alias`` keep their name. Identify's traits are its properties
  (``context.traits`` too, where RudderStack's SDK puts them; ``traits`` wins); the
  built-in mappings (core/mapping.py, channel ``segment``) set them as the profile's
  traits, and a group's as the profile's group data.
- **Identity**: ``userId`` becomes the profile's customer id (a unique merge key), so
  calls with one ``userId`` from several devices merge; ``alias`` names the profiles
  ``previousId`` may stand for (``previous_profiles``), which are merged into the
  alias call's profile.
- Batch-level ``context`` and ``integrations`` apply to each message; the message's own
  keys win. The batch-level context is written once, as the intake record's request
  context, which every consumer merges under each event's own (as for tracker calls).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from headwater.core.bots import BOT_TAG, is_bot
from headwater.core.ids import IdPool, name_id
from headwater.core.intake import (
    Accepted,
    IdFactory,
    IntakeLimits,
    RequestMeta,
    encode_json,
    partition_key,
)
from headwater.core.records import IntakeEvent, intake_batch, intake_event
from headwater.core.segment import AnySegmentBatch, AnySegmentMessage
from headwater.core.sources import EventSource
from headwater.core.times import epoch_ms
from headwater.errors import PayloadTooLarge

__all__ = ["build_segment_batches", "event_id_for", "event_time", "event_type", "profile_id_for"]

_PROFILE_NS = uuid.UUID("0b6f7c1e-54a3-4c1f-9e0d-5d2b8f3a6c41").bytes
_EVENT_NS = uuid.UUID("7d3e9a20-1c4b-4f8e-b6a5-93e1f0c2d857").bytes
_EARLIEST_MS = epoch_ms(datetime.min.replace(tzinfo=UTC))
_LATEST_MS = epoch_ms(datetime.max.replace(tzinfo=UTC))
_TYPES = {"page": "page-view", "screen": "screen-view"}
_MILLISECOND = timedelta(milliseconds=1)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def profile_id_for(tenant: str, message: AnySegmentMessage) -> str:
    """The stable Headwater profile id of a message: anonymousId first, then userId."""
    if message.anonymousId is not None:
        return name_id(_PROFILE_NS, f"{tenant}/anonymous/{message.anonymousId}")
    return name_id(_PROFILE_NS, f"{tenant}/user/{message.userId}")


def event_id_for(source: EventSource, message: AnySegmentMessage, make_id: IdFactory) -> str:
    if message.messageId is None:
        return make_id()
    return name_id(_EVENT_NS, f"{source.tenant}/{source.id}/{message.messageId}")


def event_time(message: AnySegmentMessage, batch_sent_at: datetime | None, received_at: int) -> int:
    """Epoch ms of the event, corrected for the sending device's clock skew."""
    device_time = message.originalTimestamp or message.timestamp
    if device_time is None:
        return received_at
    happened = epoch_ms(device_time)
    sent_at = message.sentAt or batch_sent_at
    if sent_at is None:
        return happened
    if (device_time.tzinfo is None) != (sent_at.tzinfo is None):  # compare like with like
        device_time, sent_at = _utc(device_time), _utc(sent_at)
    corrected = received_at + (device_time - sent_at) // _MILLISECOND  # exact, no float
    # absurd clocks could move the time out of what a datetime holds: keep the device's
    return corrected if _EARLIEST_MS <= corrected <= _LATEST_MS else happened


def event_type(message: AnySegmentMessage) -> str:
    if message.type == "track" and message.event:
        return message.event
    kind = message.type or "track"
    return _TYPES.get(kind, kind)


def _properties(message: AnySegmentMessage, tenant: str) -> dict[str, Any]:
    kind = message.type
    if kind == "identify":
        # rudder-sdk-python sends identify's traits only as context.traits
        in_context = message.context.get("traits")
        if isinstance(in_context, dict) and in_context:
            return {**in_context, **message.traits}
        return message.traits
    if kind == "group":
        return {"groupId": message.groupId, "traits": message.traits}
    if kind == "alias":
        # previousId was an anonymousId or an earlier userId: name both profiles it may
        # be, so the profile agent can merge them into this one (core/profiles.py)
        previous = [
            name_id(_PROFILE_NS, f"{tenant}/{space}/{message.previousId}")
            for space in ("anonymous", "user")
        ]
        return {
            "previousId": message.previousId,
            "userId": message.userId,
            "previous_profiles": previous,
        }
    if kind in ("page", "screen"):
        named = {"name": message.name, "category": message.category}
        extra = {k: v for k, v in named.items() if v is not None and k not in message.properties}
        return {**message.properties, **extra} if extra else message.properties
    return message.properties


def _options(message: AnySegmentMessage, integrations: dict[str, Any]) -> dict[str, Any]:
    segment: dict[str, Any] = {"type": message.type}
    if message.messageId is not None:
        segment["messageId"] = message.messageId
    if integrations:
        segment["integrations"] = integrations
    options: dict[str, Any] = {"segment": segment}
    if message.userId is not None:
        options["user_id"] = message.userId
    if message.anonymousId is not None:
        options["anonymous_id"] = message.anonymousId
    return options


def _merged(outer: dict[str, Any], inner: dict[str, Any]) -> dict[str, Any]:
    if not outer:
        return inner
    return {**outer, **inner} if inner else outer


def _event(
    message: AnySegmentMessage,
    batch: AnySegmentBatch,
    shared_context: bytes,
    source: EventSource,
    meta: RequestMeta,
    limits: IntakeLimits,
    make_id: IdFactory,
    at: str,
    batch_bot: bool,
) -> IntakeEvent:
    """One intake event. The batch-level context travels once, on the intake record
    (``shared_context``); the event keeps only its own keys, which win downstream.
    ``batch_bot``: whether the batch's (or the request's) user agent is a bot's."""
    kind = event_type(message)
    context = message.context
    properties = encode_json(_properties(message, source.tenant), "properties", at)
    own_context = encode_json(context, "context", at) if context else b"{}"
    integrations = _merged(batch.integrations, message.integrations)
    options = encode_json(_options(message, integrations), "integrations", at)
    size = len(properties) + len(shared_context) + len(own_context) + len(options) + len(kind)
    if size > limits.max_event_bytes:
        field = at.rstrip(".") or "body"
        raise PayloadTooLarge(
            f"{field} is {size} bytes, over the {limits.max_event_bytes}-byte limit", field=field
        )
    bot = _is_bot_agent(context["userAgent"], meta) if "userAgent" in context else batch_bot
    return intake_event(
        event_id_for(source, message, make_id),
        kind,
        event_time(message, batch.sentAt, meta.received_at),
        properties=properties,
        context=own_context,
        options=options,
        tags=[BOT_TAG] if bot else [],
    )


def _is_bot_agent(agent: Any, meta: RequestMeta) -> bool:
    """A context's ``userAgent``, or the request's when that one is not text."""
    return is_bot(agent if isinstance(agent, str) else meta.user_agent)


def build_segment_batches(
    batch: AnySegmentBatch,
    source: EventSource,
    meta: RequestMeta,
    limits: IntakeLimits,
    *,
    make_id: IdFactory | None = None,
    single: bool = False,
) -> list[Accepted]:
    """One intake batch per profile, events in the order they were sent.

    ``single``: the body was one message (``/v1/track`` ...), so error fields are
    named without the ``batch[i].`` prefix.
    """
    make_id = make_id or IdPool(len(batch.batch))
    shared_context = encode_json(batch.context, "context") if batch.context else b"{}"
    batch_bot = _is_bot_agent(batch.context.get("userAgent"), meta)
    by_profile: dict[str, list[IntakeEvent]] = {}
    known: dict[tuple[str | None, str | None], str] = {}  # SDK batches repeat their users
    messages: Sequence[AnySegmentMessage] = batch.batch
    for index, message in enumerate(messages):
        who = (message.anonymousId, None if message.anonymousId else message.userId)
        profile_id = known.get(who) or known.setdefault(who, profile_id_for(source.tenant, message))
        at = "" if single else f"batch[{index}]."
        event = _event(message, batch, shared_context, source, meta, limits, make_id, at, batch_bot)
        by_profile.setdefault(profile_id, []).append(event)
    accepted = []
    for profile_id, events in by_profile.items():
        record = intake_batch(
            source.tenant,
            source.env,
            source.id,
            "segment",
            meta.received_at,
            events,
            profile_id=profile_id,
            ip=meta.ip,
            user_agent=meta.user_agent,
            context=shared_context,
        )
        accepted.append(
            Accepted(
                key=partition_key(source.tenant, source.env, profile_id, profile_id),
                record=record,
                profile_id=profile_id,
                session_id=None,
                event_ids=[e["id"] for e in events],
            )
        )
    return accepted
