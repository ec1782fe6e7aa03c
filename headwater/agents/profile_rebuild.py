"""A replay's rebuild of the live profile table: markers, rebuilt states, the switch.

A replay re-folds every profile from the log (after an event mapping changed, say)
with its state in memory. To hand that fold to the live workers at a consistent point,
once caught up it writes a *marker* (key ``REBUILD_KEY``, a ``profile_rebuild`` record
naming the rebuild, the tenant and the environment) into every partition of intake and
of profile operations, and keeps reading (:class:`ReplayRebuild`):

- from its marker on, a topic partition's records are held back; when both markers of
  partition ``p`` are reached, its state of the keys of ``p`` is exactly everything
  before them. It writes those states to ``hw.profile.rebuild`` (partition ``p``, keyed
  like the table), then an ``end`` record with their count, and folds on.

The live profile stage (:class:`RebuildSwitch`, around ``ProfileStage.handle``) switches
at the first of the two markers of ``p`` it meets: it reads the rebuilt states of ``p``
(waiting up to ``profile_rebuild_timeout`` for the ``end``), replaces the partition's
entries of that tenant and environment through the table's normal write (changelog
first) and records the switch under a flag key of that partition, in a second write.
Later messages fold onto the rebuilt profiles; those before the other marker that it
had not applied yet are in the rebuilt states' applied offsets, so they count as
redeliveries. The flag makes the switch happen once per rebuild and partition: the other
marker, and a marker redelivered after a crash, find it (the answer is sent again). A
crash before the flag leaves the marker uncommitted, so it comes again and the switch is
redone from the start with the same states. On a timeout the stage keeps its own state,
records ``failed`` under the flag (a switch after that would drop what it applied since),
counts ``headwater_profile_rebuild_switches{outcome="failed"}`` and takes that rebuild's
other partitions from what is there already, without waiting again. Each switch or
failure is answered on ``hw.profile.rebuild``, where the replay reads it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import fields
from itertools import count
from typing import Any, Protocol
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, TopicPartition

from headwater.agents.profile import ProfileResult
from headwater.core.rebuild import (
    REBUILD_KEY,
    Answer,
    RebuildCut,
    RebuildKind,
    RebuildRecord,
    switch_changes,
)
from headwater.errors import HeadwaterError
from headwater.observability.metrics import PROFILE_REBUILD_SWITCHES
from headwater.schemas import PROFILE_REBUILD
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.kafka import AckedProducer, kafka_client_options
from headwater.streams.partitioning import key_partition
from headwater.streams.table_state import MemoryState, StateTable
from headwater.streams.topics import Topics

__all__ = [
    "RebuildRecords",
    "RebuildSwitch",
    "ReplayRebuild",
    "flag_key",
    "live_switch",
    "read_rebuild",
    "rebuild_record",
]

log = logging.getLogger(__name__)

# The rebuilt states of one partition of one rebuild; None when they did not all come
# in time. Not patient: only what is there already (the rebuild timed out before).
ReadRebuild = Callable[[str, int, bool], Awaitable[dict[bytes, bytes] | None]]
# Sends the live stage's answer for one rebuild and partition.
SendAnswer = Callable[[RebuildRecord], Awaitable[None]]


class SwitchableState(StateTable, Protocol):
    def keys(self) -> list[bytes]: ...


class RebuildRecords:
    """``profile_rebuild`` records, encoded and decoded."""

    def __init__(self, codec: AvroCodec) -> None:
        self._codec = codec

    def encode(self, record: RebuildRecord) -> bytes:
        return self._codec.encode(PROFILE_REBUILD, record)

    def decode(self, value: bytes | None) -> RebuildRecord:
        if value is None:
            raise HeadwaterError("an empty rebuild record")
        found: RebuildRecord = self._codec.decode(PROFILE_REBUILD, value)  # type: ignore[assignment]
        return found


def rebuild_record(
    rebuild: str,
    kind: RebuildKind,
    partition: int,
    *,
    tenant: str | None = None,
    env: str | None = None,
    key: bytes | None = None,
    state: bytes | None = None,
    count: int = 0,
) -> RebuildRecord:
    return {
        "rebuild": rebuild,
        "kind": kind,
        "tenant": tenant,
        "env": env,
        "partition": partition,
        "key": key,
        "state": state,
        "count": count,
    }


def flag_key(rebuild: str, partition: int, partitions: int) -> bytes:
    """The table key that records the switch of ``rebuild`` on ``partition``: one that
    the table's partitioning puts in that very partition, so it moves with it."""
    for n in count():
        key = f"\x00headwater:rebuilt:{rebuild}:{partition}:{n}".encode()
        if key_partition(key, partitions) == partition:
            return key
    raise AssertionError("unreachable")  # pragma: no cover


def _summed(results: Sequence[ProfileResult]) -> ProfileResult:
    totals = {f.name: sum(getattr(r, f.name) for r in results) for f in fields(ProfileResult)}
    return ProfileResult(**totals)


class RebuildSwitch:
    """The live profile stage's handler with the switch at rebuild markers: the
    messages before a marker are handled, then the switch, then the rest."""

    def __init__(
        self,
        handle: Callable[[Sequence[SourceMessage]], Awaitable[ProfileResult]],
        table: SwitchableState,
        partitions: int,
        records: RebuildRecords,
        read: ReadRebuild,
        answer: SendAnswer,
        dead: DeadLetters,
    ) -> None:
        self._handle = handle
        self._table = table
        self._partitions = partitions
        self._records = records
        self._read = read
        # rebuilds whose states did not come in time: likely a replay that died, so
        # their other partitions take only what is there instead of waiting again
        self._late: set[str] = set()
        self._answer = answer
        self._dead = dead

    async def handle(self, messages: Sequence[SourceMessage]) -> ProfileResult:
        results: list[ProfileResult] = []
        run: list[SourceMessage] = []
        for message in messages:
            if message.key != REBUILD_KEY:
                run.append(message)
                continue
            if run:
                results.append(await self._handle(run))
                run = []
            await self._marker(message)
        if run or not results:
            results.append(await self._handle(run))
        return _summed(results)

    async def _marker(self, message: SourceMessage) -> None:
        try:
            marker = self._records.decode(message.value)
        except HeadwaterError as exc:
            await self._dead.record(message, f"undecodable rebuild marker: {exc}")
            return
        if marker["kind"] != "marker" or message.partition is None:
            await self._dead.record(message, f"not a rebuild marker: {marker['kind']}")
            return
        await self.switch(marker, message.partition)

    async def switch(self, marker: RebuildRecord, partition: int) -> Answer:
        """Replace the partition's entries of the marker's tenant and environment with
        the rebuilt states, once per rebuild and partition."""
        rebuild = marker["rebuild"]
        flag = flag_key(rebuild, partition, self._partitions)
        done = self._table.get(flag)
        if done is not None:  # the other marker, or this one again after a crash
            outcome: Answer = "switched" if done == b"switched" else "failed"
            await self._answer(rebuild_record(rebuild, outcome, partition))
            return outcome
        rebuilt = await self._read(rebuild, partition, rebuild not in self._late)
        if rebuilt is None:
            self._late.add(rebuild)
            log.error(
                "rebuild %s: the rebuilt states of partition %d did not come in time; "
                "the profiles of that partition keep their own state",
                rebuild,
                partition,
            )
            outcome = "failed"
        else:

            def here(key: bytes) -> bool:
                return key_partition(key, self._partitions) == partition

            mine = [k for k in self._table.keys() if here(k)]  # noqa: SIM118 (not a dict)
            rebuilt = {k: v for k, v in rebuilt.items() if here(k)}  # never another's
            changes = switch_changes(mine, rebuilt, marker["tenant"], marker["env"])
            await self._table.write(changes)
            log.info(
                "rebuild %s: partition %d switched to %d rebuilt profiles (%d removed)",
                rebuild,
                partition,
                len(rebuilt),
                sum(1 for v in changes.values() if v is None),
            )
            outcome = "switched"
        await self._table.write({flag: outcome.encode()})  # only once the states are
        PROFILE_REBUILD_SWITCHES.labels(outcome).inc()
        await self._answer(rebuild_record(rebuild, outcome, partition))
        return outcome


async def _records_of(
    settings: Settings,
    records: RebuildRecords,
    rebuild: str,
    partitions: Sequence[int],
    *,
    follow: bool,
) -> AsyncGenerator[RebuildRecord, None]:
    """The records of ``rebuild`` on ``hw.profile.rebuild``'s ``partitions``, from the
    start; past the end seen at the start only when ``follow`` (the caller bounds it)."""
    topic = Topics(settings.topic_prefix).profile_rebuild
    parts = [TopicPartition(topic, p) for p in partitions]
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings), enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        while follow or any([await consumer.position(tp) < ends[tp] for tp in parts]):
            for messages in (await consumer.getmany(*parts, timeout_ms=500)).values():
                for message in messages:
                    try:
                        found = records.decode(message.value)
                    except HeadwaterError as exc:
                        log.warning("%s: a record that is not a rebuild's: %s", topic, exc)
                        continue
                    if found["rebuild"] == rebuild:
                        yield found
    finally:
        await consumer.stop()


async def read_rebuild(
    settings: Settings,
    records: RebuildRecords,
    rebuild: str,
    partition: int,
    timeout: float,
    patient: bool = True,
) -> dict[bytes, bytes] | None:
    """The rebuilt states of one partition, once its ``end`` record is read; None when
    it did not come within ``timeout`` seconds (not ``patient``: is not there yet)."""
    states: dict[bytes, bytes] = {}
    found = _records_of(settings, records, rebuild, [partition], follow=patient)
    try:
        async with asyncio.timeout(timeout):
            async for record in found:
                if record["kind"] == "state" and record["key"] is not None:
                    states[record["key"]] = record["state"] or b""
                elif record["kind"] == "end":
                    if len(states) == record["count"]:
                        return states
                    log.error(
                        "rebuild %s: partition %d ends after %d states, not %d",
                        rebuild,
                        partition,
                        len(states),
                        record["count"],
                    )
                    return None
    except TimeoutError:
        pass
    finally:
        await found.aclose()
    return None


class ReplayRebuild:
    """The replay's side: the markers, the cut (core/rebuild.py), the rebuilt states."""

    def __init__(
        self,
        settings: Settings,
        codec: AvroCodec,
        producer: AckedProducer,
        state: MemoryState,
        partitions: Sequence[int],
        tenant: str | None,
        env: str | None,
    ) -> None:
        self.id = uuid4().hex
        self._settings = settings
        self._records = RebuildRecords(codec)
        self._producer = producer
        self._state = state
        self._tenant, self._env = tenant, env
        topics = Topics(settings.topic_prefix)
        self._topic = topics.profile_rebuild
        self._count = len(partitions)
        self.cut = RebuildCut((topics.intake, topics.profile_ops), tuple(partitions))
        self._held: list[tuple[SourceMessage, int]] = []

    async def mark(self) -> None:
        """A marker into every partition of both topics."""
        sends = []
        for topic in self.cut.topics:
            for p in self.cut.partitions:
                marker = rebuild_record(self.id, "marker", p, tenant=self._tenant, env=self._env)
                sends.append(
                    await self._producer.enqueue(
                        topic, self._records.encode(marker), REBUILD_KEY, p
                    )
                )
        await asyncio.gather(*sends)
        log.info("rebuild %s: markers written", self.id)

    def take(self, message: SourceMessage, timestamp: int) -> bool:
        """Whether the replay must not fold ``message`` now: a marker (its own is
        noted), or a record beyond its marker, held until its partition is published."""
        assert message.partition is not None
        if message.key == REBUILD_KEY:
            try:
                found = self._records.decode(message.value)
            except HeadwaterError:
                return True
            if found["rebuild"] == self.id and found["kind"] == "marker":
                self.cut.reached(message.topic, message.partition)
            return True
        if self.cut.past(message.topic, message.partition):
            self._held.append((message, timestamp))
            return True
        return False

    async def publish(self) -> list[tuple[SourceMessage, int]]:
        """The states of every partition whose both markers are reached, each followed
        by its end record; the records held for them, to fold now."""
        released: list[tuple[SourceMessage, int]] = []
        for p in self.cut.complete():
            mine = {k: v for k, v in self._state.data.items() if key_partition(k, self._count) == p}
            sends = []
            for key, value in mine.items():
                state = rebuild_record(self.id, "state", p, key=key, state=value)
                sends.append(await self._send(state, key, p))
            tenant, env = self._tenant, self._env
            end = rebuild_record(self.id, "end", p, tenant=tenant, env=env, count=len(mine))
            await asyncio.gather(*sends)
            await asyncio.gather(await self._send(end, None, p))
            self.cut.published(p)
            released += [(m, ts) for m, ts in self._held if m.partition == p]
            self._held = [(m, ts) for m, ts in self._held if m.partition != p]
            log.info("rebuild %s: partition %d: %d states written", self.id, p, len(mine))
        return released

    def release_all(self) -> list[tuple[SourceMessage, int]]:
        """What is still held (a marker never came back): folded at the end."""
        held, self._held = self._held, []
        return held

    async def _send(self, value: RebuildRecord, key: bytes | None, partition: int) -> Any:
        return await self._producer.enqueue(
            self._topic, self._records.encode(value), key, partition
        )

    async def answers(self, timeout: float) -> dict[int, str]:
        """The live stages' answer per partition (switched, failed), read for up to
        ``timeout`` seconds; ``pending`` where none came (no live stage reached the
        marker yet: it switches when it does)."""
        partitions = self.cut.partitions
        found: dict[int, str] = {}
        if not partitions:
            return found
        read = _records_of(self._settings, self._records, self.id, partitions, follow=True)
        try:
            async with asyncio.timeout(timeout):
                async for answer in read:
                    if answer["kind"] in ("switched", "failed"):
                        found.setdefault(answer["partition"], answer["kind"])
                        if len(found) == len(partitions):
                            break
        except TimeoutError:
            pass
        finally:
            await read.aclose()
        return {p: found.get(p, "pending") for p in partitions}


def live_switch(
    settings: Settings,
    codec: AvroCodec,
    table: SwitchableState,
    handle: Callable[[Sequence[SourceMessage]], Awaitable[ProfileResult]],
    send: Callable[..., Awaitable[Awaitable[Any]]],
    dead: DeadLetters,
) -> RebuildSwitch:
    """The worker's profile handler with the switch; its answers leave through the
    stage's own producer (``send``: topic, key, value, partition)."""
    records = RebuildRecords(codec)
    topic = Topics(settings.topic_prefix).profile_rebuild

    async def read(rebuild: str, partition: int, patient: bool) -> dict[bytes, bytes] | None:
        timeout = settings.profile_rebuild_timeout
        return await read_rebuild(settings, records, rebuild, partition, timeout, patient)

    async def answer(value: RebuildRecord) -> None:
        await (await send(topic, None, records.encode(value), value["partition"]))

    return RebuildSwitch(handle, table, settings.partitions, records, read, answer, dead)
