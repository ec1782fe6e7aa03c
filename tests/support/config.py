"""Writing configuration in tests, as the private API would."""

from __future__ import annotations

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
