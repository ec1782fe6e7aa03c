"""The profile stage sends one processed record per profile (profile-less: per key) per
batch of messages (agents/processed.py): every message in order with its applied
events, each session once as the last message left it, cut by bytes; a record from
before version 5 (one message) still reads as its one message."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from headwater.agents.processed import Coalesced, Part, part_bytes, session_bytes
from headwater.agents.profile import ProfileStage
from headwater.core.profile_ops import op
from headwater.core.records import AppliedEvent, ProcessedBatch, processed_messages
from headwater.errors import RecordRejected
from headwater.schemas import DEAD_LETTER, INTAKE_BATCH, PROCESSED_BATCH, PROFILE_OP, schema_family
from headwater.settings import load_settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.pipeline_records import PipelineRecords
from headwater.streams.table_state import MemoryState
from headwater.streams.topics import Topics
from tests.support.dead_letters import refusing_dead_letters
from tests.support.intake import intake_source_message, tracker_batch

CODEC = AvroCodec.default()
SETTINGS = load_settings(topic_prefix="coalesce")
TOPICS = Topics(SETTINGS.topic_prefix)
RECORDS = PipelineRecords(CODEC, TOPICS)
T0 = 1_795_900_000_000


def view(profile: str | None, offset: int, minutes: int = 0, padding: int = 0) -> SourceMessage:
    body: dict[str, Any] = {
        "source": {"id": "src"},
        "events": [{"type": "page-view", "properties": {"n": offset, "pad": "x" * padding}}],
    }
    if profile is not None:
        body["profile"] = {"id": profile}
    accepted = tracker_batch(
        SETTINGS, body, received_at=T0 + minutes * 60_000, profile_less=profile is None
    )
    return intake_source_message(SETTINGS, accepted, offset)


async def fed(messages: list[SourceMessage]) -> list[tuple[bytes, ProcessedBatch]]:
    """The processed records one ``handle`` of ``messages`` sends, with their keys."""
    sent: list[tuple[bytes, ProcessedBatch]] = []

    async def send(topic: str, key: bytes, value: bytes) -> Any:
        if topic == TOPICS.events:
            sent.append((key, RECORDS.read_processed(value)))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    stage = ProfileStage(SETTINGS, CODEC, MemoryState(), send, refusing_dead_letters("p"))
    await stage.handle(messages)
    return sent


def event_ids(record: ProcessedBatch) -> list[list[str]]:
    return [[e["id"] for e in m["events"]] for m in processed_messages(record)]


def ids_of(message: SourceMessage) -> list[str]:
    return [e["id"] for e in CODEC.decode(INTAKE_BATCH, message.value)["events"]]


async def test_a_profiles_messages_of_one_batch_make_one_record_in_order() -> None:
    ann = [view("co-ann", offset, minutes=offset) for offset in range(4)]
    bob = [view("co-bob", 10 + offset, minutes=offset) for offset in range(2)]
    messages = [ann[0], bob[0], ann[1], ann[2], bob[1], ann[3]]

    sent = await fed(messages)

    assert [record["profile_id"] for _, record in sent] == ["co-ann", "co-bob"]
    (ann_key, ann_record), (_, bob_record) = sent
    assert ann_key == ann[0].key
    assert [m["intake"] for m in processed_messages(ann_record)] == [m.value for m in ann]
    assert event_ids(ann_record) == [ids_of(m) for m in ann]
    versions = [m["events"][0]["profile_version"] for m in processed_messages(ann_record)]
    assert versions == [1, 2, 3, 4]
    # one visit of four events, once, as the last message left it
    (session,) = ann_record["sessions"]
    assert session["events"] == 4
    assert (ann_record["intake"], ann_record["events"]) == (b"", [])
    assert len(processed_messages(bob_record)) == 2 and bob_record["sessions"][0]["events"] == 2


async def test_profile_less_messages_make_one_record_per_key() -> None:
    # the collector keys each profile-less message on its own (~ and an id), which
    # spreads them over the partitions: one record each; a shared key shares one
    alone = [view(None, offset) for offset in range(2)]
    shared = [view(None, 2 + offset) for offset in range(3)]
    shared = [
        SourceMessage(m.topic, 0, m.offset, b"default:production:~k", m.value) for m in shared
    ]

    sent = await fed([*alone, *shared])

    assert [key for key, _ in sent] == [alone[0].key, alone[1].key, b"default:production:~k"]
    assert all(r["profile_id"] is None and r["sessions"] == [] for _, r in sent)
    assert [event_ids(r) for _, r in sent] == [
        [ids_of(alone[0])],
        [ids_of(alone[1])],
        [ids_of(m) for m in shared],
    ]


async def test_an_operation_ends_the_run_its_batches_come_before() -> None:
    batches = [view("co-op", offset, minutes=offset) for offset in range(3)]
    alias = op("absorb", "default", "production", "co-op", "co-other")
    merge = SourceMessage(TOPICS.profile_ops, 0, 0, batches[0].key, CODEC.encode(PROFILE_OP, alias))

    sent = await fed([batches[0], batches[1], merge, batches[2]])

    # the third batch is forwarded to the survivor: no processed record of it here
    assert [event_ids(record) for _, record in sent] == [[ids_of(batches[0]), ids_of(batches[1])]]


def part_of(message: SourceMessage) -> Part:
    """``message`` as the stage would gather it, with one session for its events."""
    events: list[AppliedEvent] = [
        {
            "id": event_id,
            "session_id": "s-1",
            "profile_version": 1,
            "errors": [],
            "properties": None,
            "limits": [],
        }
        for event_id in ids_of(message)
    ]
    return Part({"intake": message.value, "events": events}, [], part_bytes(message.value, events))


def test_records_are_cut_by_bytes_and_none_passes_the_limit() -> None:
    limit = 6_000
    messages = [view("co-big", offset, padding=1_200) for offset in range(10)]
    coalesced = Coalesced(RECORDS, messages[0].key or b"", "co-big", limit)
    for message in messages:
        part = part_of(message)
        assert coalesced.oversized(part) is None
        coalesced.add(part)

    records = coalesced.take()

    assert len(records) > 2
    assert all(len(r.value) <= limit for r in records)
    read = [
        m["intake"] for r in records for m in processed_messages(RECORDS.read_processed(r.value))
    ]
    assert read == [m.value for m in messages]
    assert coalesced.take() == []  # taken once


def test_a_message_over_the_limit_alone_is_refused_with_its_exact_size() -> None:
    message = view("co-huge", 0, padding=8_000)
    coalesced = Coalesced(RECORDS, b"k", "co-huge", 4_000)
    part = part_of(message)

    reason = coalesced.oversized(part)

    alone = Coalesced(RECORDS, b"k", "co-huge", 10**9)
    alone.add(part)
    (record,) = alone.take()
    assert reason == (
        f"output to {TOPICS.events} would be {len(record.value)} bytes, over "
        "worker_max_record_bytes (4000); nothing of it was sent"
    )


def test_the_size_bound_is_never_below_the_encoded_size() -> None:
    message = view("co-bound", 0, padding=300)
    events: list[AppliedEvent] = [
        {
            "id": "é" * 40,
            "session_id": None,
            "profile_version": 2**62,
            "errors": ["an error ✓"] * 3,
            "properties": b'{"a": 1}',
            "limits": ["profile_max_keys: traits"],
        }
    ]
    session = {
        "id": "s" * 36,
        "start": 2**62,
        "last": 2**62,
        "events": 2**40,
        "context": b'{"page": "x"}',
        "merged_into": "t" * 36,
    }
    record: ProcessedBatch = {
        "intake": b"",
        "profile_id": "ü" * 20,
        "events": [],
        "sessions": [session],  # type: ignore[list-item]
        "messages": [{"intake": message.value, "events": events}],
    }
    encoded = CODEC.encode(PROCESSED_BATCH, record)
    bound = Coalesced(RECORDS, b"k", "ü" * 20, 1)._empty
    bound += part_bytes(message.value, events) + session_bytes(session)  # type: ignore[arg-type]

    assert len(encoded) <= bound < len(encoded) + 1_000


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_a_record_from_before_version_5_reads_as_its_one_message(version: int) -> None:
    message = view("co-old", 0)
    old_writer = AvroCodec({PROCESSED_BATCH: schema_family(PROCESSED_BATCH)[:version]})
    applied = {"id": ids_of(message)[0], "session_id": "s-1", "profile_version": 3}
    session = {"id": "s-1", "start": T0, "last": T0, "events": 3, "context": b"{}"}
    old = {"intake": message.value, "profile_id": "co-old", "events": [applied]}
    value = old_writer.encode(PROCESSED_BATCH, {**old, "sessions": [session]})
    assert value[2:10] == schema_family(PROCESSED_BATCH)[version - 1].fingerprint

    record = RECORDS.read_processed(value)

    (read,) = processed_messages(record)
    assert read["intake"] == message.value
    assert [e["id"] for e in read["events"]] == ids_of(message)
    assert read["events"][0]["profile_version"] == 3
    assert record["sessions"][0]["events"] == 3 and record["messages"] == []


async def test_a_message_of_duplicates_only_adds_nothing_to_the_record() -> None:
    first = view("co-dup", 0)
    again = SourceMessage(first.topic, 0, 1, first.key, first.value)  # same events, resent

    sent = await fed([first, again])

    ((_, record),) = sent
    assert [m["intake"] for m in processed_messages(record)] == [first.value]


async def test_a_profiles_record_the_broker_refuses_dead_letters_its_messages_only() -> None:
    ann = [view("co-ref-ann", offset, minutes=offset) for offset in range(3)]
    bob = view("co-ref-bob", 3)
    letters: list[dict[str, Any]] = []
    state = MemoryState()

    async def send(topic: str, key: bytes, value: bytes) -> Any:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if topic == TOPICS.events and key == ann[0].key:
            done.set_exception(RecordRejected("MessageSizeTooLarge"))
        else:
            done.set_result(None)
        return done

    async def keep(key: bytes | None, value: bytes) -> None:
        letters.append(CODEC.decode(DEAD_LETTER, value))

    stage = ProfileStage(SETTINGS, CODEC, state, send, DeadLetters(CODEC, "profile", keep))
    result = await stage.handle([*ann, bob])

    assert sorted(letter["offset"] for letter in letters) == [0, 1, 2]
    assert all("output refused by the broker" in letter["reason"] for letter in letters)
    assert result.dead_lettered == 3
    assert ann[0].key not in state.data and bob.key in state.data  # ann comes again as it was
