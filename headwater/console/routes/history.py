"""``GET /history/{kind}/{entity_id}``: every version of one of the caller's
configuration entities in a context, from the history topic (``hw.config.history``,
kept forever), newest first. The console lists a flow's versions with it and restores
one by saving its data as a new version.

Each request reads the history topic from its start and keeps only the records whose
key is exactly ``<kind>/<caller's tenant>/<context>/<id>``: another tenant's entries are
never decoded, let alone answered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aiokafka import ConsumerRecord
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
from headwater.errors import NotFound
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import decode_entry
from headwater.streams.topic_reader import read_topic
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
    wanted = key.encode()

    def keep(record: ConsumerRecord[bytes, bytes]) -> ConfigEntry | None:
        if record.key == wanted and record.value is not None:
            return decode_entry(codec, record.value)
        return None

    topic = Topics(settings.topic_prefix).config_history
    return await read_topic(settings, topic, keep, timeout=timeout)


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
