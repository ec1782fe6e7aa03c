"""The live profile stage's switch to a replay's rebuilt profiles (profile_rebuild.py):
at the first marker of a partition, once; other tenants and partitions untouched; what
the rebuild already holds is a redelivery; a timeout or a crash changes nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import count
from typing import Any

import pytest

from headwater.agents.profile import ProfileResult, ProfileStage
from headwater.agents.profile_rebuild import (
    RebuildRecords,
    RebuildSwitch,
    ReplayRebuild,
    flag_key,
    rebuild_record,
)
from headwater.core.mapping import BUILTIN_MAPPINGS, EventMapping, FieldMapping
from headwater.core.profiles import FoldRules, Profile
from headwater.core.rebuild import REBUILD_KEY, RebuildCut, RebuildRecord, switch_changes
from headwater.core.tenancy import profile_key
from headwater.settings import load_settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import SourceMessage
from headwater.streams.partitioning import key_partition
from headwater.streams.table_state import MemoryState
from headwater.streams.topics import Topics
from tests.support.dead_letters import refusing_dead_letters
from tests.support.intake import tracker_batch

CODEC = AvroCodec.default()
SETTINGS = load_settings(topic_prefix="rb", partitions=2)
TOPICS = Topics(SETTINGS.topic_prefix)
RECORDS = RebuildRecords(CODEC)
P = 1  # the partition switched


def in_partition(tenant: str, stem: str, partition: int = P) -> str:
    """A profile id whose key lands in ``partition``."""
    for n in count():
        candidate = f"{stem}{n}"
        key = profile_key(tenant, "production", candidate)
        if key_partition(key, SETTINGS.partitions) == partition:
            return candidate
    raise AssertionError


def purchase(profile: str, offset: int) -> SourceMessage:
    body = {
        "source": {"id": "src"},
        "profile": {"id": profile},
        "events": [{"type": "purchase", "properties": {"plan": "gold", "n": offset}}],
    }
    accepted = tracker_batch(SETTINGS, body, received_at=1_795_900_000_000 + offset)
    value = CODEC.encode("intake_batch", accepted.record)
    partition = key_partition(accepted.key, SETTINGS.partitions)
    return SourceMessage(TOPICS.intake, partition, offset, accepted.key, value)


def marker(topic: str, rebuild: str = "r1", partition: int = P) -> SourceMessage:
    found = rebuild_record(rebuild, "marker", partition, tenant="default", env="production")
    value = RECORDS.encode(found)
    return SourceMessage(topic, partition, 100, REBUILD_KEY, value)


def hot_key(profile: str) -> bytes:
    return profile_key("default", "production", profile)


def rules(target: str) -> FoldRules:
    mapping = EventMapping("purchase", (FieldMapping("properties.plan", target),))
    return FoldRules(mappings=(*BUILTIN_MAPPINGS, mapping))


async def acknowledged() -> None:
    return None


async def send(topic: str, key: bytes, value: bytes) -> Any:
    return acknowledged()


def stage(table: MemoryState, fold: list[FoldRules]) -> ProfileStage:
    """A profile stage whose rules are ``fold[0]`` (a test changes them)."""
    return ProfileStage(
        SETTINGS, CODEC, table, send, refusing_dead_letters("p"), lambda t, e: fold[0]
    )


class Live:
    """The live stage behind the switch, with what it was handed and answered."""

    def __init__(self, table: MemoryState, rebuilt: Mapping[bytes, bytes] | None) -> None:
        self.table = table
        self.fold = [rules("traits.plan")]
        self.stage = stage(table, self.fold)
        self.rebuilt = rebuilt
        self.reads = 0
        self.patience: list[bool] = []
        self.answers: list[tuple[str, int]] = []
        self.runs: list[list[int | None]] = []
        self.switch = RebuildSwitch(
            self._handle,
            table,
            SETTINGS.partitions,
            RECORDS,
            self._read,
            self._answer,
            refusing_dead_letters("p"),
        )

    async def _handle(self, messages: Sequence[SourceMessage]) -> ProfileResult:
        self.runs.append([m.offset for m in messages])
        return await self.stage.handle(messages)

    async def _read(self, rebuild: str, partition: int, patient: bool) -> dict[bytes, bytes] | None:
        self.reads += 1
        self.patience.append(patient)
        return None if self.rebuilt is None else dict(self.rebuilt)

    async def _answer(self, value: RebuildRecord) -> None:
        self.answers.append((value["kind"], value["partition"]))

    def profile(self, profile_id: str) -> Profile:
        raw = self.table.get(profile_key("default", "production", profile_id))
        assert raw is not None
        return Profile.loads(raw)


def test_switch_changes_replace_only_the_rebuilt_scope() -> None:
    existing = [b"default:production:a", b"default:production:gone", b"other:production:x"]
    existing += [b"default:staging:s", b"\x00headwater:end"]
    rebuilt = {b"default:production:a": b"A", b"default:production:new": b"N"}
    assert switch_changes(existing, rebuilt, "default", "production") == {
        b"default:production:gone": None,
        b"default:production:a": b"A",
        b"default:production:new": b"N",
    }
    everything = switch_changes(existing, rebuilt, None, None)
    assert everything[b"other:production:x"] is None and b"\x00headwater:end" not in everything


def test_the_cut_holds_a_partition_until_both_markers_then_publishes_it_once() -> None:
    cut = RebuildCut((TOPICS.intake, TOPICS.profile_ops), (0, 1))
    cut.reached(TOPICS.intake, 1)
    assert cut.past(TOPICS.intake, 1) and not cut.past(TOPICS.profile_ops, 1)
    assert cut.complete() == []
    cut.reached(TOPICS.profile_ops, 1)
    assert cut.complete() == [1]
    cut.published(1)
    assert cut.complete() == [] and not cut.past(TOPICS.intake, 1) and not cut.done


async def rebuilt_with(target: str, messages: list[SourceMessage]) -> dict[bytes, bytes]:
    """What a replay folding ``messages`` with the mapping to ``target`` holds."""
    replay = MemoryState()
    await stage(replay, [rules(target)]).handle(messages)
    return replay.data


async def test_later_events_fold_onto_the_rebuilt_profiles_and_nothing_counts_twice() -> None:
    hot = in_partition("default", "hot")
    before = [purchase(hot, 0), purchase(hot, 1)]
    rebuilt = await rebuilt_with("traits.tier", before)  # the replay's fold, mapping B
    live = Live(MemoryState(), rebuilt)
    gone = in_partition("default", "gone")  # no longer in the rebuild: removed
    other = profile_key("other", "production", in_partition("other", "x"))
    elsewhere = profile_key("default", "production", in_partition("default", "e", 0))
    live.table.data.update({other: b"theirs", elsewhere: b"kept"})
    await live.switch.handle([before[0], purchase(gone, 5)])  # live, mapping A
    assert live.profile(hot).traits == {"plan": "gold"}

    live.fold[0] = rules("traits.tier")  # the mapping changed, then the replay ran
    # The operations marker comes first: the intake batch before the intake marker was
    # not applied live yet, but the rebuild holds it.
    await live.switch.handle(
        [marker(TOPICS.profile_ops), before[1], marker(TOPICS.intake), purchase(hot, 101)]
    )
    assert live.runs[-2:] == [[1], [101]]  # handled between the markers, in order
    switched = live.profile(hot)
    assert switched.events == 3 and switched.traits == {"tier": "gold"}
    assert profile_key("default", "production", gone) not in live.table.data
    assert live.table.data[other] == b"theirs" and live.table.data[elsewhere] == b"kept"
    assert live.reads == 1  # the intake marker found the switch done
    # the rebuilt profile's versions go on (search keeps the higher version)
    assert switched.version == Profile.loads(rebuilt[hot_key(hot)]).version + 1
    assert live.answers == [("switched", P), ("switched", P)]
    assert live.table.get(flag_key("r1", P, SETTINGS.partitions)) == b"switched"


async def test_a_rebuild_that_does_not_come_in_time_keeps_the_live_state() -> None:
    hot = in_partition("default", "hot")
    live = Live(MemoryState(), None)
    await live.switch.handle([purchase(hot, 0)])
    kept = dict(live.table.data)
    await live.switch.handle([marker(TOPICS.intake), purchase(hot, 101)])
    assert live.profile(hot).events == 2 and live.profile(hot).traits == {"plan": "gold"}
    live.rebuilt = await rebuilt_with("traits.tier", [purchase(hot, 0)])
    await live.switch.handle([marker(TOPICS.profile_ops)])  # too late: never switched
    assert live.profile(hot).events == 2 and live.reads == 1
    assert live.answers == [("failed", P), ("failed", P)]
    flag = flag_key("r1", P, SETTINGS.partitions)
    assert {k: v for k, v in live.table.data.items() if k != flag} != kept  # 101 applied
    assert live.table.data[flag] == b"failed"
    # the same rebuild's other partitions do not wait again: only what is there counts
    await live.switch.handle([marker(TOPICS.intake, partition=0)])
    assert live.patience == [True, False] and live.answers[-1] == ("switched", 0)
    assert live.profile(hot).events == 2  # partition 1's key untouched by partition 0


class CrashingOnce(MemoryState):
    """Dies at the switch's second write (the flag), once: states stored, no flag."""

    writes = 0

    async def write(self, changes: Mapping[bytes, bytes | None]) -> None:
        if any(key.startswith(b"\x00headwater:rebuilt:") for key in changes):
            self.writes += 1
            if self.writes == 1:
                raise RuntimeError("worker killed")
        await super().write(changes)


async def test_a_switch_cut_short_by_a_crash_is_redone_with_the_same_result() -> None:
    hot = in_partition("default", "hot")
    before = [purchase(hot, 0)]
    live = Live(CrashingOnce(), await rebuilt_with("traits.tier", before))
    await live.switch.handle(before)
    live.fold[0] = rules("traits.tier")
    with pytest.raises(RuntimeError):
        await live.switch.handle([marker(TOPICS.intake), purchase(hot, 101)])
    assert live.answers == []  # nothing after the marker was handled or committed
    await live.switch.handle([marker(TOPICS.intake), purchase(hot, 101)])  # redelivered
    assert live.answers == [("switched", P)] and live.reads == 2
    assert live.profile(hot).events == 2 and live.profile(hot).traits == {"tier": "gold"}


class Recorded:
    """A producer that keeps what it is given (``enqueue``, as AckedProducer)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int | None, bytes | None, RebuildRecord]] = []

    async def enqueue(
        self, topic: str, value: bytes, key: bytes | None = None, partition: int | None = None
    ) -> Any:
        self.sent.append((topic, partition, key, RECORDS.decode(value)))
        return acknowledged()


async def test_the_replay_holds_a_partition_past_its_marker_and_publishes_it_at_both() -> None:
    producer = Recorded()
    sends: Any = producer  # the part of AckedProducer it uses
    state = MemoryState()
    hot, cold = in_partition("default", "hot"), in_partition("default", "cold", 0)
    state.data = {hot_key(hot): b"H", hot_key(cold): b"C"}
    rebuild = ReplayRebuild(SETTINGS, CODEC, sends, state, [0, 1], None, "production")
    await rebuild.mark()
    markers = [(t, p) for t, p, k, r in producer.sent if k == REBUILD_KEY and r["kind"] == "marker"]
    assert sorted(markers) == sorted((t, p) for t in rebuild.cut.topics for p in (0, 1))
    producer.sent.clear()

    def mine(topic: str) -> SourceMessage:
        value = RECORDS.encode(rebuild_record(rebuild.id, "marker", P, env="production"))
        return SourceMessage(topic, P, 50, REBUILD_KEY, value)

    assert rebuild.take(mine(TOPICS.intake), 1)
    later = purchase(hot, 51)
    assert rebuild.take(later, 2)  # held: past its partition's marker
    assert rebuild.take(marker(TOPICS.profile_ops, rebuild="another"), 3)  # not folded
    assert await rebuild.publish() == []  # another rebuild's marker is not this one's
    assert rebuild.take(mine(TOPICS.profile_ops), 4)
    assert await rebuild.publish() == [(later, 2)]
    assert [(p, r["kind"], r["key"], r["state"]) for _, p, _, r in producer.sent] == [
        (P, "state", hot_key(hot), b"H"),
        (P, "end", None, None),
    ]
    assert producer.sent[-1][3]["count"] == 1 and producer.sent[-1][3]["env"] == "production"
    assert not rebuild.take(purchase(hot, 52), 5)  # published: folded as usual
    assert not rebuild.cut.done  # partition 0's markers are still to come
