"""``/destinations`` and ``/dead-letters``: where the caller's flows send, and what the
worker's stages gave up on for the caller's tenant.

Headwater has no destination entity: a flow's outbound node names its target, so the
destinations are the outbound nodes of the context's flows, grouped by target.

Dead letters are records of the shared topic ``hw.deadletter``. Each names the tenant and
environment of the message's key (``streams/deadletter.py``); a record is answered only
when both its key and its ``tenant``/``env`` fields name the caller's tenant and the
context, so another tenant's record is never decoded into an answer, and records written
before those fields existed (null) are never shown. Each call reads the newest
``SCAN`` records of every partition of the topic, newest first."""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from typing import Annotated, Any

import orjson
from aiokafka import ConsumerRecord
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from headwater.console.auth import Scope, require
from headwater.console.context import ConfigContext, DataContext
from headwater.console.params import only_known_query_params
from headwater.core.access import Permission
from headwater.core.automation import FLOW_KIND
from headwater.core.flows.actions.outbound import destinations_of
from headwater.core.flows.model import Flow
from headwater.core.tenancy import key_owner
from headwater.errors import FlowInvalid, HeadwaterError
from headwater.schemas import DEAD_LETTER
from headwater.streams.codec import AvroCodec
from headwater.streams.topic_reader import read_topic
from headwater.streams.topics import Topics

__all__ = ["dead_letters_of", "router", "shown_payload"]

log = logging.getLogger(__name__)
router = APIRouter(tags=["destinations"])
ConfigRead = Annotated[Scope, Depends(require(Permission.CONFIG_READ))]
DataRead = Annotated[Scope, Depends(only_known_query_params(require(Permission.DATA_READ)))]
SCAN = 10_000  # newest records read per partition of the dead-letter topic
READ_TIMEOUT = 30.0
PAYLOAD_CHARS = 20_000  # a payload shown is cut here


class NodeUse(BaseModel):
    flow_id: str
    flow_name: str
    node_id: str
    action: str


class DestinationOut(BaseModel):
    kind: str  # http, email, kafka, mqtt, amqp
    target: str  # as configured: a URL, or "<destination>: <topic or address>"
    used_by: list[NodeUse]


class DeadLetterOut(BaseModel):
    stage: str  # the agent that gave up: profile, identity, storage, destinations
    reason: str
    topic: str
    partition: int | None
    offset: int | None
    failed_at: datetime
    attempts: int
    payload: str  # the message, decoded to JSON where it is one of ours; cut at 20,000


class DeadLettersOut(BaseModel):
    total: int  # the tenant's dead letters among the records read
    dead_letters: list[DeadLetterOut]  # newest first, at most `size`
    context: str


@router.get(
    "/destinations",
    response_model=list[DestinationOut],
    summary="Where the context's flows send, with the flow nodes that send there",
)
async def list_destinations(scope: ConfigRead, x_context: ConfigContext) -> list[DestinationOut]:
    found: dict[tuple[str, str], DestinationOut] = {}
    for entry in scope.config.list(FLOW_KIND, x_context):
        try:
            flow = Flow.from_dict({**entry.data, "id": entry.id})
        except FlowInvalid:
            continue  # stored flows were checked when saved; never fail the listing
        name = str(entry.data.get("name", ""))
        for d in destinations_of(flow):
            use = NodeUse(flow_id=entry.id, flow_name=name, node_id=d.node_id, action=d.action)
            key = (d.kind, d.target)
            found.setdefault(key, DestinationOut(kind=d.kind, target=d.target, used_by=[]))
            found[key].used_by.append(use)
    return [found[key] for key in sorted(found)]


def _plain(value: Any) -> Any:
    """A decoded record as JSON can hold it: bytes as text (JSON inside parsed)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            pass
        try:
            return value.decode()
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def shown_payload(codec: AvroCodec, payload: bytes) -> str:
    """A dead letter's payload for a person: an Avro record of ours decoded to JSON, a
    JSON document as it is, other text as text, anything else as base64."""
    name = codec.name_of(payload)
    if name is not None:
        try:
            text = orjson.dumps(_plain(codec.decode(name, payload)), default=str).decode()
        except HeadwaterError:
            text = "base64:" + base64.b64encode(payload).decode()
    else:
        shown = _plain(payload)
        text = shown if isinstance(shown, str) else orjson.dumps(shown).decode()
    return text[:PAYLOAD_CHARS]


async def dead_letters_of(scope: Scope, env: str, codec: AvroCodec) -> list[DeadLetterOut]:
    """The tenant's dead letters of ``env`` among the newest records, newest first."""
    owner = (scope.tenant, env)

    def keep(record: ConsumerRecord[bytes, bytes]) -> DeadLetterOut | None:
        if key_owner(record.key) != owner or record.value is None:
            return None
        try:
            letter = codec.decode(DEAD_LETTER, record.value)
        except HeadwaterError as exc:
            log.warning("unreadable dead letter at %s@%s: %s", record.partition, record.offset, exc)
            return None
        if (letter["tenant"], letter["env"]) != owner:
            return None
        return DeadLetterOut(
            stage=letter["stage"],
            reason=letter["reason"],
            topic=letter["topic"],
            partition=letter["partition"],
            offset=letter["offset"],
            failed_at=letter["failed_at"],
            attempts=letter["attempts"],
            payload=shown_payload(codec, letter["payload"]),
        )

    settings = scope.runtime.settings
    topic = Topics(settings.topic_prefix).deadletter
    found = await read_topic(settings, topic, keep, timeout=READ_TIMEOUT, last=SCAN)
    return sorted(found, key=lambda d: d.failed_at, reverse=True)


@router.get(
    "/dead-letters",
    response_model=DeadLettersOut,
    summary="The tenant's dead letters in the context, newest first",
)
async def list_dead_letters(
    scope: DataRead,
    x_context: DataContext,
    size: Annotated[int, Query(ge=0, le=500)] = 50,
) -> DeadLettersOut:
    found = await dead_letters_of(scope, x_context, AvroCodec.default())
    return DeadLettersOut(total=len(found), dead_letters=found[:size], context=x_context)
