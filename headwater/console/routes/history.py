"""``GET /history/{kind}/{entity_id}``: every version of one of the caller's
configuration entities in a context, from the history topic (``hw.config.history``,
kept forever), newest first. The console lists a flow's versions with it and restores
one by saving its data as a new version.

Each request reads the history topic from its start and keeps only the records whose
key is exactly ``<kind>/<caller's tenant>/<context>/<id>``: another tenant's entries are
never decoded, let alone answered."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from headwater.console.auth import Scope, require
from headwater.console.context import ConfigContext
from headwater.console.models import SOURCE_ID_PATTERN
from headwater.core.access import Permission
from headwater.core.automation import FLOW_KIND, RULE_KIND, SEGMENT_KIND
from headwater.core.config import ConfigEntry, config_key
from headwater.core.mapping import MAPPING_KIND
from headwater.core.validation import EVENT_TYPE_KIND
from headwater.errors import BrokerUnavailable, NotFound
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import decode_entry
from headwater.streams.kafka import kafka_client_options, partitions_of
from headwater.streams.topics import Topics

__all__ = ["read_history", "router"]

router = APIRouter(prefix="/history", tags=["history"])
Read = Annotated[Scope, Depends(require(Permission.CONFIG_READ))]
# sources are left out: their stored data holds write-key hashes
KINDS = {
    "flows": FLOW_KIND,
    "rules": RULE_KIND,
    "segments": SEGMENT_KIND,
    "event-types": EVENT_TYPE_KIND,
    "mappings": MAPPING_KIND,
}
Kind = Literal["flows", "rules", "segments", "event-types", "mappings"]
READ_TIMEOUT = 30.0  # seconds to reach the end of the history topic


class VersionOut(BaseModel):
    version: int
    deleted: bool
    data: dict[str, Any]
    updated_at: datetime
    updated_by: str


async def read_history(
    settings: Settings, codec: AvroCodec, key: str, timeout: float = READ_TIMEOUT
) -> list[ConfigEntry]:
    """The history topic's entries with exactly this key, oldest first: read from the
    start up to the end offsets taken when the read began."""
    topic = Topics(settings.topic_prefix).config_history
    wanted = key.encode()
    found: list[ConfigEntry] = []
    partitions = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
    if not partitions:
        return found
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings), enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        left = {tp for tp in partitions if ends[tp] > 0}
        async with asyncio.timeout(timeout):
            while left:
                fetched = await consumer.getmany(*left, timeout_ms=500)
                for records in fetched.values():
                    for record in records:
                        if record.key == wanted and record.value is not None:
                            found.append(decode_entry(codec, record.value))
                for tp in list(left):
                    if await consumer.position(tp) >= ends[tp]:
                        left.discard(tp)
    except TimeoutError:
        raise BrokerUnavailable(f"could not read {topic} to its end in {timeout:.0f} s") from None
    finally:
        await consumer.stop()
    return found


@router.get(
    "/{kind}/{entity_id}",
    response_model=list[VersionOut],
    summary="Every version of one entity in the context, newest first",
)
async def history(
    scope: Read,
    kind: Kind,
    entity_id: Annotated[str, Path(pattern=SOURCE_ID_PATTERN)],
    x_context: ConfigContext,
) -> list[VersionOut]:
    key = config_key(KINDS[kind], scope.tenant, x_context, entity_id)
    entries = await read_history(scope.runtime.settings, AvroCodec.default(), key)
    if not entries:
        raise NotFound(f"no versions of {kind} {entity_id} in {x_context}")
    return [
        VersionOut(
            version=e.version,
            deleted=e.deleted,
            data=e.data,
            updated_at=e.updated_at,
            updated_by=e.updated_by,
        )
        for e in reversed(entries)
    ]
