"""The profile stage against a real broker: outputs first, state after, replays skipped."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from headwater.agents.profile import ProfileStage
from headwater.commands.init import run_init
from headwater.core.documents import Applied, Resolution, event_documents
from headwater.core.mapping import MAPPING_KIND
from headwater.core.profiles import Profile
from headwater.core.records import processed_messages
from headwater.core.validation import EVENT_TYPE_KIND
from headwater.schemas import INTAKE_BATCH, PROCESSED_BATCH, PROFILE_SNAPSHOT
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.kafka import AckedProducer
from headwater.streams.table_state import MemoryState
from headwater.streams.topics import Topics
from tests.support.config import publish_entries
from tests.support.dead_letters import refusing_dead_letters
from tests.support.intake import intake_source_message, tracker_batch
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration

CODEC = AvroCodec.default()
T0 = 1_795_900_000_000


def intake(settings: Settings, profile: str | None, offset: int, types: list[str]) -> SourceMessage:
    body: dict[str, Any] = {"source": {"id": "src"}, "events": [{"type": t} for t in types]}
    if profile:
        body["profile"] = {"id": profile}
    accepted = tracker_batch(
        settings, body, received_at=T0 + offset * 60_000, profile_less=profile is None
    )
    return intake_source_message(settings, accepted, offset)


async def test_profiles_fold_outputs_are_acknowledged_and_replays_skipped(
    settings: Settings,
) -> None:
    await run_init(settings)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    table: dict[bytes, bytes] = {}

    async def send(topic: str, key: bytes, value: bytes) -> Any:
        return asyncio.ensure_future(producer.send(topic, value, key))

    stage = ProfileStage(
        settings, CODEC, MemoryState(table), send, refusing_dead_letters("profile")
    )
    messages = [
        intake(settings, "ann", 0, ["page-view", "page-view"]),
        intake(settings, "bob", 1, ["purchase"]),
        intake(settings, "ann", 2, ["purchase"]),
        intake(settings, None, 3, ["webhook"]),
    ]
    try:
        first = await stage.handle(messages)
        again = await stage.handle(messages)  # redelivered after a crash
    finally:
        await producer.stop()

    assert (first.applied, first.replayed, first.duplicates) == (5, 0, 0)
    assert (again.applied, again.replayed) == (1, 3)  # only the profile-less one again
    ann = Profile.loads(table[b"default:production:ann"])
    assert (ann.events, ann.version, ann.by_type) == (3, 3, {"page-view": 2, "purchase": 1})
    assert b"default:production:bob" in table and len(table) == 2

    topics = Topics(settings.topic_prefix)
    processed = await read_topic(
        settings.kafka_servers, topics.events, PROCESSED_BATCH, until=lambda rs: len(rs) >= 4
    )
    # one record per profile per batch (ann's two messages in one), per key profile-less
    assert sorted(r["profile_id"] or "-" for r in processed) == ["-", "-", "ann", "bob"]
    (ann_record,) = [r for r in processed if r["profile_id"] == "ann"]
    ann_versions = [
        [e["profile_version"] for e in m["events"]] for m in processed_messages(ann_record)
    ]
    assert ann_versions == [[1, 2], [3]]
    snapshots = await read_topic(
        settings.kafka_servers, topics.profiles, PROFILE_SNAPSHOT, until=lambda rs: len(rs) >= 2
    )
    assert sorted((s["id"], s["version"]) for s in snapshots) == [("ann", 3), ("bob", 1)]
    assert orjson.loads(snapshots[0]["document"])["stats"]["events"] in (1, 3)


async def test_a_message_at_fault_is_dead_lettered_alone_and_others_go_on(
    settings: Settings,
) -> None:
    await run_init(settings)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    table: dict[bytes, bytes] = {}
    letters: list[bytes] = []

    async def send(topic: str, key: bytes, value: bytes) -> Any:
        return asyncio.ensure_future(producer.send(topic, value, key))

    async def keep(key: bytes | None, value: bytes) -> None:
        letters.append(value)

    stage = ProfileStage(
        settings, CODEC, MemoryState(table), send, DeadLetters(CODEC, "profile", keep)
    )
    bad = intake(settings, "ann", 1, ["purchase"])
    record = CODEC.decode(INTAKE_BATCH, bad.value)
    bad_value = CODEC.encode(INTAKE_BATCH, {**record, "context": b"not json"})
    bad = SourceMessage(bad.topic, bad.partition, bad.offset, bad.key, bad_value)
    try:
        result = await stage.handle(
            [
                intake(settings, "ann", 0, ["page-view"]),
                bad,
                intake(settings, "ann", 2, ["page-view"]),
                intake(settings, "bob", 3, ["purchase"]),
            ]
        )
    finally:
        await producer.stop()

    assert (result.applied, result.dead_lettered) == (3, 1)
    assert Profile.loads(table[b"default:production:bob"]).events == 1
    assert Profile.loads(table[b"default:production:ann"]).by_type == {"page-view": 2}
    letter = CODEC.decode("dead_letter", letters[0])
    assert letter["stage"] == "profile" and letter["offset"] == 1
    assert letter["reason"].startswith("message cannot be applied: context is not a JSON")


async def fold_with_config(
    settings: Settings, entries: list[tuple[str, str, dict[str, Any]]], events: list[dict[str, Any]]
) -> tuple[dict[bytes, bytes], dict[str, Any]]:
    """Publish config entries (kind, id, data), wait until they are read, fold one
    intake batch for profile ``cy`` with a stage that follows the config; returns the
    table and the processed batch sent to hw.events."""
    from headwater.agents.configured import ConfiguredRules
    from headwater.streams.config_log import ConfigLog, ConfigPublisher

    await run_init(settings)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    config = ConfigLog(settings, CODEC)
    await config.start(wait=10)
    table: dict[bytes, bytes] = {}

    async def send(topic: str, key: bytes, value: bytes) -> Any:
        return asyncio.ensure_future(producer.send(topic, value, key))

    rules = ConfiguredRules(settings, config)
    stage = ProfileStage(
        settings,
        CODEC,
        MemoryState(table),
        send,
        refusing_dead_letters("profile"),
        rules,
    )
    publisher = ConfigPublisher(settings, CODEC, producer)
    try:
        for entry in await publish_entries(publisher, entries):
            await config.wait_for(entry.key, 1)
        body = {"source": {"id": "src"}, "profile": {"id": "cy"}, "events": events}
        accepted = tracker_batch(settings, body, received_at=T0)
        await stage.handle([intake_source_message(settings, accepted, 0)])
    finally:
        await config.stop()
        await producer.stop()
    [processed] = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).events,
        PROCESSED_BATCH,
        until=lambda records: len(records) >= 1,
    )
    [message] = processed_messages(processed)  # its one message, as a record of old
    return table, {**processed, "intake": message["intake"], "events": message["events"]}


async def test_event_mappings_published_on_the_config_topic_are_applied(
    settings: Settings,
) -> None:
    mapping = {
        "event_type": "purchase",
        "fields": [{"source": "properties.plan", "target": "traits.plan"}],
    }
    table, _ = await fold_with_config(
        settings,
        [(MAPPING_KIND, "plan-from-purchase", mapping)],
        [{"type": "purchase", "properties": {"plan": "gold"}}],
    )

    profile = Profile.loads(table[b"default:production:cy"])
    assert profile.traits == {"plan": "gold"}
    assert "traits.plan" in profile.field_times


async def test_event_types_reshape_and_validate_and_invalid_events_are_kept(
    settings: Settings,
) -> None:
    mapping = {
        "event_type": "purchase",
        "fields": [{"source": "properties.plan", "target": "traits.plan"}],
    }
    event_type = {
        "event_type": "purchase",
        "moves": {"properties.total": "properties.order.total"},
        "json_schema": {
            "type": "object",
            "required": ["total"],
            "properties": {"total": {"type": "number"}, "plan": {"type": "string"}},
        },
    }
    events = [
        {"type": "purchase", "properties": {"order": {"total": 12.5}, "plan": "gold"}},
        {"type": "purchase", "properties": {"order": {"total": "lots"}, "plan": "tin"}},
    ]

    table, processed = await fold_with_config(
        settings,
        [(MAPPING_KIND, "plan", mapping), (EVENT_TYPE_KIND, "purchase", event_type)],
        events,
    )

    valid, invalid = processed["events"]
    assert valid["errors"] == []
    assert orjson.loads(valid["properties"]) == {"order": {}, "total": 12.5, "plan": "gold"}
    assert invalid["errors"] == ["properties/total: 'lots' is not of type 'number'"]
    profile = Profile.loads(table[b"default:production:cy"])
    assert profile.events == 2  # the invalid event is counted ...
    assert profile.traits == {"plan": "gold"}  # ... but changes no field
    resolution = Resolution(
        processed["profile_id"],
        {
            e["id"]: Applied(
                e["session_id"], e["profile_version"], tuple(e["errors"]), e["properties"]
            )
            for e in processed["events"]
        },
    )
    batch = CODEC.decode(INTAKE_BATCH, processed["intake"])
    stored = [d.body for d in event_documents(batch, resolution)]
    assert [d["metadata"]["valid"] for d in stored] == [True, False]
    assert stored[1]["metadata"]["errors"] == invalid["errors"]
    assert stored[0]["properties"]["total"] == 12.5
