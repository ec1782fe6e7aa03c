"""The profile stage on a real broker under outputs that cannot be sent: a flow that
writes 300 traits of 20,000 characters is dead-lettered with the reason, the profile
stays as it was and every other message of the batch goes on; an event over a profile
limit is applied, marked, and does not grow the profile."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from headwater.agents.profile import ProfileStage
from headwater.commands.init import run_init
from headwater.core.automation import Automation
from headwater.core.flows.model import Flow
from headwater.core.flows.rules import rule_from_config
from headwater.core.profiles import Profile
from headwater.core.records import processed_messages
from headwater.schemas import DEAD_LETTER, PROCESSED_BATCH
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.sender import RetryingSender
from headwater.streams.table_state import MemoryState
from headwater.streams.topics import Topics
from tests.support.dead_letters import refusing_dead_letters
from tests.support.flows import FLOOD, FLOOD_RULE
from tests.support.intake import intake_source_message, tracker_batch
from tests.support.kafka import read_topic

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CODEC = AvroCodec.default()
T0 = 1_795_900_000_000
BIG = "x" * 20_000

AUTOMATION = Automation(
    rules=(rule_from_config({"id": "r", **FLOOD_RULE}),),
    flows={"flood": Flow.from_dict({"id": "flood", **FLOOD})},  # with BIG: ~6 MB
)


def intake(
    settings: Settings, profile: str, offset: int, events: list[dict[str, Any]]
) -> SourceMessage:
    body = {"source": {"id": "src"}, "profile": {"id": profile}, "events": events}
    accepted = tracker_batch(settings, body, received_at=T0 + offset * 60_000)
    return intake_source_message(settings, accepted, offset)


async def test_an_oversized_flow_output_is_dead_lettered_and_the_batch_goes_on(
    settings: Settings,
) -> None:
    await run_init(settings)
    topics = Topics(settings.topic_prefix)
    send = RetryingSender(settings, "profile")
    await send.producer.start(wait=10)

    async def dead_letter(key: bytes | None, value: bytes) -> None:
        await send.producer.send(topics.deadletter, value, key)

    table: dict[bytes, bytes] = {}
    stage = ProfileStage(
        settings,
        CODEC,
        MemoryState(table),
        send,
        DeadLetters(CODEC, "profile", dead_letter),
        automation_for=lambda tenant, env, at: AUTOMATION,
    )
    messages = [
        intake(settings, "ann", 0, [{"type": "page-view"}]),
        intake(settings, "ann", 1, [{"type": "flood", "properties": {"v": BIG}}]),
        intake(settings, "bob", 2, [{"type": "page-view"}]),
        intake(settings, "ann", 3, [{"type": "purchase"}]),
    ]
    try:
        result = await asyncio.wait_for(stage.handle(messages), timeout=30)
    finally:
        await send.producer.stop()

    assert (result.applied, result.dead_lettered) == (3, 1)
    ann = Profile.loads(table[b"default:production:ann"])
    assert ann.by_type == {"page-view": 1, "purchase": 1}  # before and after, not the flood
    assert ann.traits == {}
    assert Profile.loads(table[b"default:production:bob"]).events == 1
    letters = await read_topic(
        settings.kafka_servers, topics.deadletter, DEAD_LETTER, until=lambda rs: len(rs) >= 1
    )
    assert [(r["offset"], r["stage"]) for r in letters] == [(1, "profile")]
    assert "over profile_max_bytes" in letters[0]["reason"]


async def test_an_event_over_a_profile_limit_is_applied_and_marked(settings: Settings) -> None:
    await run_init(settings)
    send = RetryingSender(settings, "profile")
    await send.producer.start(wait=10)

    table: dict[bytes, bytes] = {}
    stage = ProfileStage(
        settings, CODEC, MemoryState(table), send, refusing_dead_letters("profile")
    )
    identify = {"type": "identify", "properties": {"traits": {"bio": BIG, "plan": "gold"}}}
    try:
        await asyncio.wait_for(stage.handle([intake(settings, "cy", 0, [identify])]), 30)
    finally:
        await send.producer.stop()

    assert Profile.loads(table[b"default:production:cy"]).traits == {"plan": "gold"}
    processed = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).events,
        PROCESSED_BATCH,
        until=lambda rs: len(rs) >= 1,
    )
    ((event,),) = [m["events"] for m in processed_messages(processed[0])]
    assert event["limits"] == ["profile_max_value_bytes: traits.bio"]
    assert event["errors"] == []
