"""The storage stage: processed batches and snapshots to documents, exactly once, nothing lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import orjson
import pytest
import pytest_asyncio

from headwater.adapters.search.writer import BulkWriter
from headwater.agents.storage import StorageStage
from headwater.commands.init import run_init
from headwater.core.ports.search import SearchStore
from headwater.core.tenancy import (
    events_alias,
    events_index,
    generation_index,
    profiles_alias,
    sessions_alias,
)
from headwater.schemas import (
    DEAD_LETTER,
    INTAKE_BATCH,
    PROCESSED_BATCH,
    PROFILE_SNAPSHOT,
    schema_family,
)
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.kafka import AckedProducer
from headwater.streams.topics import Topics
from tests.support.intake import intake_source_message, tracker_batch
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


def processed_message(settings: Settings, events: int, offset: int = 0) -> SourceMessage:
    """A processed batch as the profile agent emits it, around a real intake message."""
    intake = intake_message(settings, events, offset)
    batch = CODEC.decode(INTAKE_BATCH, intake.value)
    record = {
        "intake": intake.value,
        "profile_id": batch["profile_id"],
        "events": [
            {"id": e["id"], "session_id": batch["session_id"], "profile_version": offset + i + 1}
            for i, e in enumerate(batch["events"])
        ],
        "sessions": [
            {
                "id": batch["session_id"],
                "start": batch["received_at"],
                "last": batch["received_at"],
                "events": events,
                "context": b'{"utm":{"source":"mail"}}',
            }
        ],
    }
    value = CODEC.encode(PROCESSED_BATCH, record)
    return SourceMessage(Topics(settings.topic_prefix).events, 0, offset, intake.key, value)


def snapshot_message(settings: Settings, version: int, offset: int) -> SourceMessage:
    document = {"id": "p-snap", "version": version, "stats": {"events": version, "visits": 1}}
    value = CODEC.encode(
        PROFILE_SNAPSHOT,
        {
            "tenant": "default",
            "env": "production",
            "id": "p-snap",
            "version": version,
            "document": orjson.dumps(document),
        },
    )
    return SourceMessage(
        Topics(settings.topic_prefix).profiles, 0, offset, b"default:p-snap", value
    )


def intake_message(settings: Settings, events: int, offset: int = 0) -> SourceMessage:
    body = {
        "source": {"id": "src"},
        "context": {"page": {"url": "https://shop.example/"}},
        "events": [{"type": "page-view", "properties": {"n": i}} for i in range(events)],
    }
    return intake_source_message(settings, tracker_batch(settings, body), offset)


def coalesced_message(settings: Settings, counts: list[int], offset: int) -> SourceMessage:
    """One processed batch of version 5 as the profile agent now sends one: several
    intake messages of a profile, each with its applied events, and their session once."""
    intakes = [intake_message(settings, n, offset + i) for i, n in enumerate(counts)]
    batches = [CODEC.decode(INTAKE_BATCH, m.value) for m in intakes]
    session_id = batches[0]["session_id"]
    messages, version = [], 0
    for intake, batch in zip(intakes, batches, strict=True):
        applied = []
        for e in batch["events"]:
            version += 1
            applied.append({"id": e["id"], "session_id": session_id, "profile_version": version})
        messages.append({"intake": intake.value, "events": applied})
    session = {
        "id": session_id,
        "start": batches[0]["received_at"],
        "last": batches[-1]["received_at"],
        "events": version,
        "context": b"{}",
        "merged_into": None,
    }
    record = {"profile_id": "p-co", "sessions": [session], "messages": messages}
    value = CODEC.encode(PROCESSED_BATCH, {**record, "intake": b"", "events": []})
    return SourceMessage(Topics(settings.topic_prefix).events, 0, offset, intakes[0].key, value)


async def test_a_coalesced_batch_stores_every_message_and_its_session_once(
    stage: StorageStage, settings: Settings, search: SearchStore
) -> None:
    message = coalesced_message(settings, [1, 3, 2], 40)

    result = await stage.handle([message])

    assert (result.documents, result.dead_lettered) == (6 + 1, 0)  # events, one session
    alias = events_alias(settings.index_prefix, "default", "production")
    await search.refresh(alias)
    query = {"term": {"profile.id": "p-co"}}
    hits = (await search.search(alias, query=query, size=20))["hits"]["hits"]
    assert sorted(h["_source"]["profile"]["version"] for h in hits) == [1, 2, 3, 4, 5, 6]
    sessions = sessions_alias(settings.index_prefix, "default", "production")
    await search.refresh(sessions)
    session = (await search.search(sessions, query={"term": {"profile.id": "p-co"}}))["hits"]
    assert [h["_source"]["events"] for h in session["hits"]] == [6]


async def test_a_processed_batch_written_before_version_5_is_stored(
    stage: StorageStage, settings: Settings, search: SearchStore
) -> None:
    # a record of the old shape (one intake message), still on hw.events after an upgrade
    old_writer = AvroCodec({PROCESSED_BATCH: schema_family(PROCESSED_BATCH)[:4]})
    current = processed_message(settings, 2, 50)
    record = CODEC.decode(PROCESSED_BATCH, current.value)
    old = {k: v for k, v in record.items() if k != "messages"}
    value = old_writer.encode(PROCESSED_BATCH, {**old, "profile_id": "p-old"})
    assert value[2:10] == schema_family(PROCESSED_BATCH)[3].fingerprint

    result = await stage.handle([SourceMessage(current.topic, 0, 50, current.key, value)])

    assert (result.documents, result.dead_lettered) == (2 + 1, 0)
    alias = events_alias(settings.index_prefix, "default", "production")
    await search.refresh(alias)
    hits = (await search.search(alias, query={"term": {"profile.id": "p-old"}}))["hits"]["hits"]
    assert sorted(h["_source"]["profile"]["version"] for h in hits) == [51, 52]


async def test_redelivered_batches_are_stored_once(
    stage: StorageStage, settings: Settings, search: SearchStore
) -> None:
    first, second = processed_message(settings, 5, 0), processed_message(settings, 3, 1)
    result = await stage.handle([first, second])
    again = await stage.handle([first, second, first])  # at-least-once redelivery
    assert (result.documents, result.dead_lettered) == (8 + 2, 0)  # events + sessions
    # the first batch's session update twice in one batch: written once
    assert (again.documents, again.dead_lettered) == (13 + 2, 0)

    alias = events_alias(settings.index_prefix, "default", "production")
    await search.refresh(alias)
    assert await search.count(alias) == 8
    hits = (await search.search(alias, query={"term": {"properties.n": "4"}}))["hits"]["hits"]
    assert len(hits) == 1
    assert hits[0]["_source"]["context"]["page"]["url"] == "https://shop.example/"
    assert hits[0]["_source"]["profile"]["version"] == 5  # 5th event of the first batch
    sessions = sessions_alias(settings.index_prefix, "default", "production")
    await search.refresh(sessions)
    assert await search.count(sessions) == 2
    session = (await search.search(sessions, query={"term": {"events": "5"}}))["hits"]["hits"]
    assert session[0]["_source"]["context"] == {"utm": {"source": "mail"}}


async def test_an_older_profile_snapshot_never_overwrites_a_newer_one(
    stage: StorageStage, settings: Settings, search: SearchStore
) -> None:
    result = await stage.handle([snapshot_message(settings, 5, 0)])
    late = await stage.handle([snapshot_message(settings, 3, 1)])  # the engine refuses it
    together = await stage.handle(
        [snapshot_message(settings, 4, 2), snapshot_message(settings, 5, 3)]
    )
    assert (result.documents, late.documents, late.dead_lettered) == (1, 1, 0)
    assert (together.documents, together.dead_lettered) == (1, 0)  # the newer one only
    index = generation_index(profiles_alias(settings.index_prefix, "default", "production"))
    stored = await search.get(index, "p-snap")
    assert stored is not None and stored["version"] == 5 and stored["stats"]["events"] == 5


async def test_undecodable_message_is_dead_lettered_with_reason(
    stage: StorageStage, settings: Settings
) -> None:
    good = processed_message(settings, 2, 10)
    garbage = SourceMessage(good.topic, 0, 11, b"default:x", b"\xc3\x01" + b"\x00" * 8 + b"junk")
    result = await stage.handle([garbage, good])
    assert (result.documents, result.dead_lettered) == (2 + 1, 1)

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

    message = processed_message(settings, 1, 20)
    result = await stage.handle([message])
    assert (result.documents, result.dead_lettered) == (1 + 1, 1)

    letters = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).deadletter,
        DEAD_LETTER,
        until=lambda rs: any(r["offset"] == 20 for r in rs),
    )
    letter = next(r for r in letters if r["offset"] == 20)
    assert letter["reason"].startswith("400")
    assert (letter["tenant"], letter["env"]) == ("default", "production")  # from the key
    assert orjson.loads(letter["payload"])["type"] == "page-view"


async def test_a_session_merged_into_another_is_removed(
    stage: StorageStage, settings: Settings, search: SearchStore
) -> None:
    first = processed_message(settings, 2, 30)
    record = CODEC.decode(PROCESSED_BATCH, first.value)
    absorbed_id = record["sessions"][0]["id"]
    await stage.handle([first])

    # A later batch: a late event joined that session to "survivor" (3 events now).
    merged = dict(record["sessions"][0], id=absorbed_id, events=3, merged_into="survivor")
    survivor = dict(record["sessions"][0], id="survivor", events=3, merged_into=None)
    later = {**record, "events": [], "sessions": [survivor, merged]}
    value = CODEC.encode(PROCESSED_BATCH, later)
    result = await stage.handle([SourceMessage(first.topic, 0, 31, first.key, value)])
    assert result.dead_lettered == 0

    index = generation_index(sessions_alias(settings.index_prefix, "default", "production"))
    assert await search.get(index, absorbed_id) is None
    kept = await search.get(index, "survivor")
    assert kept is not None and kept["events"] == 3
