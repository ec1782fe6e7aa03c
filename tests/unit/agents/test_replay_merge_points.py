"""A batch the live stage applied to a profile just before it was merged away, though
written after the ``absorb``, is applied to that profile by a replay too (the live
``merge-in`` says so), not forwarded: there is no forwarded copy in the log to replay."""

from __future__ import annotations

from typing import Any

from headwater.agents.profile import ProfileStage
from headwater.agents.replay_order import merge_points
from headwater.core.offsets import record as record_offset
from headwater.core.profile_ops import op
from headwater.core.profiles import Profile
from headwater.schemas import INTAKE_BATCH, PROCESSED_BATCH
from headwater.streams.deadletter import SourceMessage
from headwater.streams.table_state import MemoryState
from tests.support.dead_letters import refusing_dead_letters
from tests.unit.agents.test_profile_stage_cuts import CODEC, SETTINGS, TOPICS, absorb, identify


def merge_in(absorbed: Profile, survivor: str) -> dict[str, Any]:
    return op("merge-in", "default", "production", survivor, absorbed.id, state=absorbed.dumps())


def test_merge_points_are_what_the_absorbed_profile_had_applied() -> None:
    before = Profile.new("default", "production", "mp-b")
    before.applied_offsets["in/0"], _ = record_offset(None, 7)
    later = Profile.new("default", "production", "mp-b")  # forgotten, merged again
    later.applied_offsets["in/0"], _ = record_offset(None, 9)
    points = merge_points(
        [
            op("absorb", "default", "production", "mp-b", "mp-a"),
            merge_in(before, "mp-a"),
            merge_in(later, "mp-a"),
        ]
    )
    assert points == {("default", "production", "mp-b"): {"in/0": {"floor": -1, "above": [7]}}}


async def fed(
    applied_before_merge: Any, messages: list[SourceMessage]
) -> list[tuple[str, dict[str, Any]]]:
    sent: list[tuple[str, dict[str, Any]]] = []

    async def acknowledged() -> None:
        return None

    async def send(topic: str, key: bytes, value: bytes) -> Any:
        if topic == TOPICS.intake:
            sent.append((topic, CODEC.decode(INTAKE_BATCH, value)))
        elif topic == TOPICS.events:
            sent.append((topic, CODEC.decode(PROCESSED_BATCH, value)))
        return acknowledged()

    stage = ProfileStage(
        SETTINGS,
        CODEC,
        MemoryState(),
        send,
        refusing_dead_letters("p"),
        applied_before_merge=applied_before_merge,
    )
    for message in messages:
        await stage.handle([message])
    return sent


async def test_a_batch_applied_before_the_merge_live_is_applied_by_the_replay() -> None:
    merge = absorb("mp-b", "mp-a")
    batch = identify("mp-b", "b@example.com")
    batch = SourceMessage(batch.topic, 0, 5, batch.key, batch.value)
    origin = f"{TOPICS.intake}/0"

    live_order = await fed(None, [merge, batch])  # the stage alone: forwarded
    assert [(t, r["profile_id"]) for t, r in live_order] == [(TOPICS.intake, "mp-a")]

    def applied(profile: Profile, at: str, offset: int) -> bool:
        return (profile.id, at, offset) == ("mp-b", origin, 5)

    replayed = await fed(applied, [merge, batch])
    assert [(t, r["profile_id"]) for t, r in replayed] == [(TOPICS.events, "mp-b")]
