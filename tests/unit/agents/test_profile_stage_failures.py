"""The profile stage's failure path, with its real state and send: a message that is
itself at fault (a payload its schema's JSON fields do not hold) is dead-lettered alone
and leaves the profile as it was before it; any other error stops the stage before
anything is dead-lettered or stored, so the worker exits and the messages come again
(agents/worker.py ``_run_in_batches``)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from headwater.agents.profile import ProfileStage
from headwater.core.automation import Automation
from headwater.core.offsets import seen
from headwater.core.profile_ops import op
from headwater.core.profiles import Profile
from headwater.core.records import processed_messages
from headwater.schemas import DEAD_LETTER, INTAKE_BATCH
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.pipeline_records import PipelineRecords
from headwater.streams.table_state import MemoryState
from tests.unit.agents.test_profile_stage_cuts import CODEC, SETTINGS, TOPICS, identify

RECORDS = PipelineRecords(CODEC, TOPICS)
KEY = b"default:production:fail-a"
ORIGIN = f"{TOPICS.intake}/0"
OFFSET_OF: dict[str, int] = {}  # event id -> the offset of the intake message it came in


def at(message: SourceMessage, offset: int) -> SourceMessage:
    return SourceMessage(message.topic, message.partition, offset, message.key, message.value)


def with_context(message: SourceMessage, context: bytes) -> SourceMessage:
    """``message`` with a request context that is not the JSON object its schema says."""
    record = CODEC.decode(INTAKE_BATCH, message.value)
    value = CODEC.encode(INTAKE_BATCH, {**record, "context": context})
    return SourceMessage(message.topic, message.partition, message.offset, message.key, value)


class Harness:
    """A profile stage on in-memory state, its outputs and dead letters in lists."""

    def __init__(self, **stage: Any) -> None:
        self.state = MemoryState()
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.letters: list[dict[str, Any]] = []

        async def send(topic: str, key: bytes, value: bytes) -> Any:
            self.sent.append((topic, key, value))
            acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            acknowledged.set_result(None)
            return acknowledged

        async def keep(key: bytes | None, value: bytes) -> None:
            self.letters.append(CODEC.decode(DEAD_LETTER, value))

        dead = DeadLetters(CODEC, "profile", keep)
        self.stage = ProfileStage(SETTINGS, CODEC, self.state, send, dead, **stage)

    def processed_offsets(self) -> list[int]:
        """The intake offsets whose processed batch was sent, from their event ids."""
        return [
            OFFSET_OF[message["events"][0]["id"]]
            for t, _, v in self.sent
            if t == TOPICS.events
            for message in processed_messages(RECORDS.read_processed(v))
        ]


def batches(count: int) -> list[SourceMessage]:
    messages = [at(identify("fail-a", f"a{i}@example.com"), i) for i in range(count)]
    for message in messages:
        record = CODEC.decode(INTAKE_BATCH, message.value)
        OFFSET_OF[record["events"][0]["id"]] = message.offset or 0
    return messages


async def test_an_error_not_the_messages_fault_stops_the_stage_and_keeps_nothing() -> None:
    calls = 0

    def automation_for(tenant: str, env: str, at_ms: int) -> Automation:
        nonlocal calls
        calls += 1
        if calls == 2:  # the second message of the profile meets a broken dependency
            raise RuntimeError("configuration store broke")
        return Automation()

    harness = Harness(automation_for=automation_for)
    first, second = batches(2)

    with pytest.raises(RuntimeError, match="configuration store broke"):
        await harness.stage.handle([first, second])

    assert harness.letters == []  # good data is not dead-lettered
    assert harness.state.data == {}  # nor is any state written: all of it comes again
    # a profile's processed batches go at the end of its messages: none was queued
    assert harness.processed_offsets() == []


async def test_a_stored_state_that_does_not_load_stops_the_stage() -> None:
    harness = Harness()
    harness.state.data[KEY] = b"not a profile"  # no message's fault: nothing to blame

    with pytest.raises(ValueError):
        await harness.stage.handle(batches(2))

    assert harness.letters == [] and harness.sent == []
    assert harness.state.data == {KEY: b"not a profile"}


async def test_a_message_at_fault_is_dead_lettered_alone_and_applies_nothing() -> None:
    harness = Harness()
    first, second, third = batches(3)
    bad = with_context(second, b"[not json")

    result = await harness.stage.handle([first, bad, third])

    assert [(letter["offset"], letter["payload"]) for letter in harness.letters] == [(1, bad.value)]
    assert "not a JSON object" in harness.letters[0]["reason"]
    assert (result.applied, result.dead_lettered) == (2, 1)
    assert harness.processed_offsets() == [0, 2]
    profile = Profile.loads(harness.state.data[KEY])
    assert profile.events == 2
    applied = profile.applied_offsets[ORIGIN]
    assert seen(applied, 0) and seen(applied, 2) and not seen(applied, 1)


async def test_a_payload_that_is_json_but_no_object_is_at_fault_too() -> None:
    harness = Harness()
    first, second = batches(2)

    result = await harness.stage.handle([first, with_context(second, b"[1, 2]")])

    assert [letter["offset"] for letter in harness.letters] == [1]
    assert (result.applied, result.dead_lettered) == (1, 1)
    assert Profile.loads(harness.state.data[KEY]).events == 1


async def test_an_operation_at_fault_is_dead_lettered_alone_and_changes_nothing() -> None:
    harness = Harness()
    first, second = batches(2)
    merge_in = RECORDS.op(op("merge-in", "default", "production", "fail-a", "fail-b"))
    no_state = SourceMessage(merge_in.topic, 0, 0, merge_in.key, merge_in.value)

    result = await harness.stage.handle([first, no_state, second])

    assert [(letter["topic"], letter["offset"]) for letter in harness.letters] == [
        (TOPICS.profile_ops, 0)
    ]
    assert "merge-in of fail-b carries no state" in harness.letters[0]["reason"]
    assert (result.applied, result.dead_lettered) == (2, 1)
    profile = Profile.loads(harness.state.data[KEY])
    assert (profile.events, profile.absorbed) == (2, [])
    assert f"{TOPICS.profile_ops}/0" not in profile.applied_offsets
