"""Writing configuration in tests, as the private API would."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from headwater.core.config import ConfigEntry
from headwater.core.sources import SOURCE_KIND
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer


async def publish_source(settings: Settings, source_id: str, version: int, **data: object) -> None:
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    try:
        await ConfigPublisher(settings, AvroCodec.default(), producer).publish(
            kind=SOURCE_KIND,
            tenant="default",
            env=settings.env,
            entity_id=source_id,
            data={"name": "test", "type": "rest", **data},
            version=version,
            updated_by="test",
        )
    finally:
        await producer.stop()


async def publish_entries(
    publisher: ConfigPublisher,
    entries: Iterable[tuple[str, str, dict[str, Any]]],
    *,
    tenant: str = "default",
    env: str = "production",
) -> list[ConfigEntry]:
    """Publish each (kind, id, data) of ``entries`` as its first version, in order."""
    published = []
    for kind, entity_id, data in entries:
        entry = await publisher.publish(
            kind=kind,
            tenant=tenant,
            env=env,
            entity_id=entity_id,
            data=data,
            version=1,
            updated_by="test",
        )
        published.append(entry)
    return published
