"""The storage stage: intake batches to search documents, exactly once, nothing lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import orjson
import pytest
import pytest_asyncio

from headwater.agents.storage import StorageStage
from headwater.core.intake import (
    IntakeLimits,
    RequestMeta,
    build_tracker_batch,
    parse_tracker_payload,
)
from headwater.core.sources import EventSource
from headwater.core.tenancy import events_alias, events_index
from headwater.infra.init import run_init
from headwater.infra.search import SearchStore
from headwater.infra.search.writer import BulkWriter
from headwater.schemas import DEAD_LETTER, INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.kafka import AckedProducer
from headwater.streams.topics import Topics
from tests.support.kafka import read_topic

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CODEC = AvroCodec.default()


@pytest_asyncio.fixture(loop_scope="session")
async def stage(settings: Settings, search: SearchStore) -> AsyncIterator[StorageStage]:
    await run_init(settings)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    topic = Topics(settings.topic_prefix).deadletter

    async def send(key: bytes | None, value: bytes) -> None:
        await producer.send(topic, value, key)

    writer = BulkWriter(search, max_backoff=1.0)
    yield StorageStage(settings, CODEC, search, writer, DeadLetters(CODEC, "storage", send))
    await producer.stop()


def intake_message(settings: Settings, events: int, offset: int = 0) -> SourceMessage:
    source = EventSource(id="src", tenant="default", env="production")
    body = {
        "source": {"id": "src"},
        "context": {"page": {"url": "https://shop.example/"}},
        "events": [{"type": "page-view", "properties": {"n": i}} for i in range(events)],
    }
    accepted = build_tracker_batch(
        parse_tracker_payload(orjson.dumps(body)),
        source,
        RequestMeta(received_at=int(datetime.now(UTC).timestamp() * 1000)),
        IntakeLimits(settings.max_event_bytes, settings.max_request_bytes),
    )
    value = CODEC.encode(INTAKE_BATCH, accepted.record)
    return SourceMessage(Topics(settings.topic_prefix).intake, 0, offset, accepted.key, value)


async def test_redelivered_batches_are_stored_once(
    stage: StorageStage, settings: Settings, search: SearchStore
) -> None:
    first, second = intake_message(settings, 5, 0), intake_message(settings, 3, 1)
    result = await stage.handle([first, second])
    again = await stage.handle([first, second, first])  # at-least-once redelivery
    assert (result.documents, result.dead_lettered) == (8, 0)
    assert (again.documents, again.dead_lettered) == (13, 0)

    alias = events_alias(settings.index_prefix, "default", "production")
    await search.refresh(alias)
    assert await search.count(alias) == 8
    hits = (await search.search(alias, query={"term": {"properties.n": "4"}}))["hits"]["hits"]
    assert len(hits) == 1
    assert hits[0]["_source"]["context"]["page"]["url"] == "https://shop.example/"


async def test_undecodable_message_is_dead_lettered_with_reason(
    stage: StorageStage, settings: Settings
) -> None:
    good = intake_message(settings, 2, 10)
    garbage = SourceMessage(good.topic, 0, 11, b"default:x", b"\xc3\x01" + b"\x00" * 8 + b"junk")
    result = await stage.handle([garbage, good])
    assert (result.documents, result.dead_lettered) == (2, 1)

    letters = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).deadletter,
        DEAD_LETTER,
        until=lambda rs: len(rs) >= 1,
    )
    assert letters[0]["stage"] == "storage"
    assert "unknown writer schema" in letters[0]["reason"]
    assert (letters[0]["offset"], letters[0]["payload"]) == (11, garbage.value)


async def test_documents_the_engine_refuses_are_dead_lettered(
    stage: StorageStage, settings: Settings
) -> None:
    # This month's index was re-created by hand with "type" as a number, so the
    # engine refuses an event whose type is "page-view": a permanent 400.
    index = events_index(settings.index_prefix, "default", "production", datetime.now(UTC))
    async with httpx.AsyncClient(base_url=settings.search_hosts[0]) as http:
        await http.delete(f"/{index}")
        created = await http.put(
            f"/{index}", json={"mappings": {"properties": {"type": {"type": "long"}}}}
        )
        assert created.status_code == 200, created.text

    message = intake_message(settings, 1, 20)
    result = await stage.handle([message])
    assert (result.documents, result.dead_lettered) == (1, 1)

    letters = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).deadletter,
        DEAD_LETTER,
        until=lambda rs: any(r["offset"] == 20 for r in rs),
    )
    letter = next(r for r in letters if r["offset"] == 20)
    assert letter["reason"].startswith("400")
    assert orjson.loads(letter["payload"])["type"] == "page-view"
