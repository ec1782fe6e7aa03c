"""The records Headwater puts on its topics, as the code builds and reads them (pure).

One ``TypedDict`` per Avro schema in ``headwater/schemas`` (the field names and types
of its current version; streams/pipeline_records.py encodes and decodes them). Times
(``timestamp-millis``) are epoch milliseconds where a record is built and datetimes
where it was decoded (fastavro's reading): :data:`Millis`; ``core/times.as_ms`` reads
either. JSON fields (context, properties, options, documents) are bytes holding a
UTF-8 JSON object; :func:`json_object` is how every reader opens one.

Intake batches have one constructor, :func:`intake_batch` (with :func:`intake_event`),
for every entry point (``/track``, ``/collect``, the Segment API) and for the events
flows inject.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypedDict

import orjson

from headwater.errors import SchemaError

__all__ = [
    "EMPTY_OBJECT",
    "AppliedEvent",
    "ConfigRecord",
    "DeadLetter",
    "IdentityClaim",
    "IntakeBatch",
    "IntakeEvent",
    "JobRecord",
    "MergeRecord",
    "Millis",
    "OutboundRequest",
    "ProcessedBatch",
    "ProcessedMessage",
    "ProfileOp",
    "ProfileRebuild",
    "ProfileSnapshot",
    "SessionUpdate",
    "intake_batch",
    "intake_event",
    "json_object",
    "processed_messages",
]

EMPTY_OBJECT = b"{}"
_EMPTY = EMPTY_OBJECT

# timestamp-millis: epoch ms when built, a datetime when decoded
Millis = int | datetime


class IntakeEvent(TypedDict):
    id: str
    type: str
    time: Millis
    properties: bytes
    context: bytes
    options: bytes
    tags: list[str]


class IntakeBatch(TypedDict):
    """``intake_batch.avsc``: what one entry point accepted for one profile (hw.intake)."""

    tenant: str
    env: str
    source_id: str
    channel: str
    received_at: Millis
    profile_id: str | None
    profile_assigned: bool
    session_id: str | None
    session_assigned: bool
    profile_less: bool
    ip: str | None
    user_agent: str | None
    context: bytes
    properties: bytes
    events: list[IntakeEvent]


class AppliedEvent(TypedDict):
    id: str
    session_id: str | None
    profile_version: int
    errors: list[str]
    properties: bytes | None
    limits: list[str]


class SessionUpdate(TypedDict):
    id: str
    start: Millis
    last: Millis
    events: int
    context: bytes
    merged_into: str | None


class ProcessedMessage(TypedDict):
    """One intake message of a processed batch (version 5 on), with its applied events."""

    intake: bytes
    events: list[AppliedEvent]


class ProcessedBatch(TypedDict):
    """``processed_batch.avsc``: intake messages of one profile as the profile agent
    applied them (hw.events). Read its messages with :func:`processed_messages`."""

    intake: bytes  # versions 1-4: the one message; empty since version 5
    profile_id: str | None
    events: list[AppliedEvent]  # versions 1-4: the events of ``intake``
    sessions: list[SessionUpdate]
    messages: list[ProcessedMessage]  # since version 5: every message, in order


def processed_messages(record: ProcessedBatch) -> list[ProcessedMessage]:
    """The intake messages a processed batch carries, in log order, each with the events
    applied of it: the one of ``intake`` and ``events`` in a record written with versions
    1-4 (still on the events topic after an upgrade), those of ``messages`` since."""
    if not record["intake"]:
        return record["messages"]
    return [{"intake": record["intake"], "events": record["events"]}, *record["messages"]]


class ProfileSnapshot(TypedDict):
    """``profile_snapshot.avsc``: a profile after a change (hw.profiles)."""

    tenant: str
    env: str
    id: str
    version: int
    document: bytes


class IdentityClaim(TypedDict):
    """``identity_claim.avsc``: a profile claims (or releases) an identifier (hw.identity)."""

    tenant: str
    env: str
    identifier: str
    profile_id: str
    first_seen: int
    unique: dict[str, str]
    absorbed: list[str]
    merges: int
    release: bool


class ProfileOp(TypedDict):
    """``profile_op.avsc``: an operation on one profile (hw.profile.ops)."""

    op: str
    id: str
    tenant: str
    env: str
    profile_id: str
    other: str | None
    state: bytes | None


class MergeRecord(TypedDict):
    """``merge_record.avsc``: a merge or a refusal of the identity agent (hw.merges)."""

    id: str
    tenant: str
    env: str
    time: Millis
    outcome: str
    reason: str
    identifier: str
    survivor: str
    other: str


class OutboundRequest(TypedDict):
    """``outbound_request.avsc``: a side effect a flow asked for (hw.outbound)."""

    tenant: str
    env: str
    profile_id: str | None
    kind: str
    target: bytes
    body: bytes
    idempotency_key: str
    flow_id: str
    node_id: str
    event_id: str
    not_before_ms: int | None


class DeadLetter(TypedDict):
    """``dead_letter.avsc``: a message a stage gave up on, with the reason."""

    stage: str
    reason: str
    topic: str
    partition: int | None
    offset: int | None
    key: bytes | None
    payload: bytes
    failed_at: Millis
    attempts: int
    tenant: str | None  # from the message key; None when it names no tenant
    env: str | None


class ConfigRecord(TypedDict):
    """``config_record.avsc``: one versioned configuration entity (hw.config)."""

    kind: str
    tenant: str
    env: str | None
    id: str
    version: int
    deleted: bool
    data: bytes
    updated_at: Millis
    updated_by: str


class JobRecord(TypedDict):
    """``job_record.avsc``: one state of one job, or a request to cancel it (hw.jobs)."""

    id: str
    kind: str
    tenant: str | None
    env: str | None
    state: str
    params: str
    requested_by: str
    requested_at: Millis
    updated_at: Millis
    attempts: int
    worker: str | None
    done: int
    total: int
    counts: dict[str, int]
    errors: list[str]
    checkpoint: str | None
    result: str | None


class ProfileRebuild(TypedDict):
    """``profile_rebuild.avsc``: a replay's marker (hw.intake, hw.profile.ops), a
    rebuilt profile state, a partition's end, or a live stage's answer
    (hw.profile.rebuild); core/rebuild.py."""

    rebuild: str
    kind: str
    tenant: str | None
    env: str | None
    partition: int
    key: bytes | None
    state: bytes | None
    count: int


def intake_event(
    event_id: str,
    event_type: str,
    time: Millis,
    *,
    properties: bytes = EMPTY_OBJECT,
    context: bytes = EMPTY_OBJECT,
    options: bytes = EMPTY_OBJECT,
    tags: Iterable[str] = (),
) -> IntakeEvent:
    """One event of an intake batch; ``time`` is when it happened (epoch ms)."""
    return {
        "id": event_id,
        "type": event_type,
        "time": time,
        "properties": properties,
        "context": context,
        "options": options,
        "tags": list(tags),
    }


def intake_batch(
    tenant: str,
    env: str,
    source_id: str,
    channel: str,
    received_at: Millis,
    events: list[IntakeEvent],
    *,
    profile_id: str | None = None,
    profile_assigned: bool = False,
    session_id: str | None = None,
    session_assigned: bool = False,
    profile_less: bool = False,
    ip: str | None = None,
    user_agent: str | None = None,
    context: bytes = EMPTY_OBJECT,
    properties: bytes = EMPTY_OBJECT,
) -> IntakeBatch:
    """The intake record every entry point (and flow injection) sends for one profile."""
    return {
        "tenant": tenant,
        "env": env,
        "source_id": source_id,
        "channel": channel,
        "received_at": received_at,
        "profile_id": profile_id,
        "profile_assigned": profile_assigned,
        "session_id": session_id,
        "session_assigned": session_assigned,
        "profile_less": profile_less,
        "ip": ip,
        "user_agent": user_agent,
        "context": context,
        "properties": properties,
        "events": events,
    }


def json_object(raw: bytes | None, field: str = "field") -> dict[str, Any]:
    """A record's JSON-object field, decoded (the common empty one without parsing).

    A field that is not a JSON object is the record's own fault: SchemaError, whose
    message names ``field``, so the stage that read it dead-letters that message.
    """
    if not raw or raw == _EMPTY:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SchemaError(f"{field} is not a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise SchemaError(f"{field} is not a JSON object but {type(value).__name__}")
    return value
