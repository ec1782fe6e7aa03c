"""``headwater replay``: rebuild profiles, sessions and events in search from the intake log.

The replay reads the intake and profile-operation topics from the beginning (or from a
point in time) with a plain consumer outside the workers' group, folds them with the
same profile stage the workers run (state in memory) and writes the documents with the
same storage stage into the next index generation, which no alias points at yet.
The two topics are handed to the profile stage in the order the live stage applied
them (by record time, replay_order.py), so merges and forgets land where they did live.
Collection and the live workers go on meanwhile. Once the replay has caught up with the
log it

1. publishes the new generation on the config topic, so live storage stages write
   there from then on, and
2. moves every alias of the rebuilt tenants and environments in one atomic request,

then keeps following the log for ``follow_seconds``, so events the live stages still
wrote to the old generation before they saw the new one are in the new one too (every
write is idempotent: events by id, profiles and sessions by external version). The old
generation stays on disk for a rollback. No processed events, snapshots or workflow side
effects are sent again.

A replay from the beginning (``state``) also hands its fold to the live profile stages:
once caught up, before the new generation goes live, it writes a marker into every
partition of both topics, and the rebuilt states of each partition as they were at its
markers go to hw.profile.rebuild, where the live stages take them at the same markers
(agents/profile_rebuild.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, TopicPartition

from headwater.adapters.plugins import registry_from_entry_points
from headwater.adapters.search.provision import provision_events
from headwater.adapters.search.writer import BulkWriter
from headwater.agents.configured import ConfiguredRules, RecordedAutomation
from headwater.agents.profile import ProfileStage
from headwater.agents.profile_rebuild import ReplayRebuild
from headwater.agents.replay_order import Interleave, MergePoints, merge_points
from headwater.agents.storage import StorageStage
from headwater.core.config import ConfigEntry
from headwater.core.offsets import seen
from headwater.core.ports.search import AliasMove, SearchStore
from headwater.core.profiles import Profile
from headwater.core.rebuild import REBUILD_KEY
from headwater.core.tenancy import (
    GENERATION_KIND,
    events_alias,
    events_index,
    generation_index,
    profiles_alias,
    sessions_alias,
)
from headwater.errors import HeadwaterError
from headwater.schemas import INTAKE_BATCH, PROFILE_OP
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigLog, ConfigPublisher, decode_entry
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.kafka import AckedProducer, kafka_client_options, partitions_of
from headwater.streams.pipeline_records import PipelineRecords
from headwater.streams.table_state import MemoryState
from headwater.streams.topics import Topics

__all__ = [
    "Progress",
    "Replay",
    "ReplayPlan",
    "ReplayReport",
    "read_config_history",
    "read_merge_points",
    "read_topic",
    "run_replay",
]

log = logging.getLogger(__name__)


# Told (messages done, messages to do) as the replay goes; the total can grow.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ReplayPlan:
    tenant: str | None = None  # None: every tenant in the log
    env: str | None = None
    since: datetime | None = None  # None: from the beginning of the log
    follow_seconds: float = 10.0
    # "now": rules, flows and segments as configured now; "recorded": as they were when
    # each event was received (from the config history topic)
    flows: Literal["now", "recorded"] = "now"
    # rebuild the live workers' profile table too (only from the beginning of the log)
    state: bool = True


@dataclass
class ReplayReport:
    messages: int = 0  # records read from intake and operations (what the progress counts)
    events: int = 0  # events applied to profiles
    generations: dict[str, int] = field(default_factory=dict)  # "tenant/env" -> generation
    dead_lettered: int = 0
    rebuild: str | None = None  # the id of the profile table's rebuild, if one was made
    switched: dict[int, str] = field(default_factory=dict)  # partition -> the live answer


async def _nothing() -> None:
    return None


class Replay:
    def __init__(
        self,
        settings: Settings,
        store: SearchStore,
        config: ConfigLog,
        publisher: ConfigPublisher,
        codec: AvroCodec | None = None,
        progress: Progress | None = None,
        recorded: RecordedAutomation | None = None,
        merged: MergePoints | None = None,
        producer: AckedProducer | None = None,
    ) -> None:
        self._settings = settings
        self._producer = producer  # None: no rebuild of the live profile table
        self._state = MemoryState()
        self._rebuild: ReplayRebuild | None = None
        self._merged = merged or {}
        self._store = store
        self._config = config
        self._publisher = publisher
        self._codec = codec or AvroCodec.default()
        self._progress = progress or (lambda done, total: None)
        topics = Topics(settings.topic_prefix)
        # Merges travel as profile operations; their merge-in records carry the absorbed
        # profile's state as it was, so replaying both topics rebuilds merged profiles.
        self._sources = (topics.intake, topics.profile_ops)
        self._order = Interleave(*self._sources)  # the order the live stage saw
        self._documents = (topics.events, topics.profiles)
        self._targets: dict[tuple[str, str], int] = {}
        self._outputs: list[SourceMessage] = []
        self._writer = BulkWriter(
            store,
            max_bytes=settings.storage_bulk_bytes,
            max_backoff=settings.stage_max_backoff,
        )
        ignore = DeadLetters(self._codec, "replay", lambda key, value: _nothing())
        rules = ConfiguredRules(settings, config, registry_from_entry_points())
        self._profiles = ProfileStage(
            settings,
            self._codec,
            self._state,
            self._collect,
            ignore,
            rules,
            # runs as live, but nothing it would send leaves the replay
            recorded or rules.automation,
            rules.registry,
            self._applied_before_merge,
        )
        self._storage = StorageStage(
            settings, self._codec, store, self._writer, ignore, self._generation, live=False
        )
        self._dead = ignore

    async def run(self, plan: ReplayPlan) -> ReplayReport:
        report = ReplayReport()
        if plan.tenant is not None and plan.env is not None:
            # named: rebuilt and switched even when the log holds nothing of it (a
            # migration's new template reaches an environment nobody has written to)
            self._generation(plan.tenant, plan.env)
        consumer = AIOKafkaConsumer(
            **kafka_client_options(self._settings), enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        try:
            partitions = await self._assign(consumer, plan.since)
            await self._catch_up(consumer, partitions, plan, report)
            rebuild = await self._mark(plan, partitions)
            if rebuild is not None:
                await self._cut(consumer, partitions, plan, report, rebuild)
            await self._switch(report)
            deadline = time.monotonic() + plan.follow_seconds
            while time.monotonic() < deadline:
                ends = await consumer.end_offsets(partitions)
                await self._step(consumer, ends, plan, report)
            if rebuild is not None:
                for message, timestamp in rebuild.release_all():
                    self._order.add(message, timestamp)
            await self._apply(self._order.drain(), report)
            if rebuild is not None:
                report.rebuild = rebuild.id
                report.switched = await rebuild.answers(self._settings.profile_rebuild_timeout)
                log.info("rebuild %s: the live stages answered %s", rebuild.id, report.switched)
        finally:
            await consumer.stop()
        report.dead_lettered = self._dead.count
        # every message read is replayed: the last word of the progress is the summary's
        self._progress(report.messages, report.messages)
        return report

    async def _assign(
        self, consumer: AIOKafkaConsumer, since: datetime | None
    ) -> list[TopicPartition]:
        partitions = [
            TopicPartition(topic, p)
            for topic in self._sources
            for p in await partitions_of(self._settings, topic)
        ]
        consumer.assign(partitions)
        if since is None:
            await consumer.seek_to_beginning(*partitions)
            return partitions
        stamp = int(since.timestamp() * 1000)
        found = await consumer.offsets_for_times(dict.fromkeys(partitions, stamp))
        ends = await consumer.end_offsets(partitions)
        for partition in partitions:
            at = found.get(partition)
            consumer.seek(partition, at.offset if at is not None else ends[partition])
        return partitions

    async def _mark(
        self, plan: ReplayPlan, partitions: Sequence[TopicPartition]
    ) -> ReplayRebuild | None:
        """Write the markers of the profile table's rebuild, if this replay makes one."""
        if self._producer is None or not plan.state or plan.since is not None:
            return None  # from a point in time the fold is not the whole profile
        intake = sorted(p.partition for p in partitions if p.topic == self._sources[0])
        self._rebuild = ReplayRebuild(
            self._settings, self._codec, self._producer, self._state, intake, plan.tenant, plan.env
        )
        await self._rebuild.mark()
        return self._rebuild

    async def _cut(
        self,
        consumer: AIOKafkaConsumer,
        partitions: list[TopicPartition],
        plan: ReplayPlan,
        report: ReplayReport,
        rebuild: ReplayRebuild,
    ) -> None:
        """Follow until every partition's rebuilt states are out. Only then does the
        new generation go live: the replay's documents of everything before the markers
        are in it first, so a snapshot of the old fold (which never goes past a marker)
        that the live storage stage writes there later has no higher version."""
        limit = time.monotonic() + self._settings.profile_rebuild_timeout
        while not rebuild.cut.done and time.monotonic() < limit:
            ends = await consumer.end_offsets(partitions)
            await self._step(consumer, ends, plan, report)
        if not rebuild.cut.done:
            log.error("rebuild %s: not every marker was read back in time", rebuild.id)

    async def _catch_up(
        self,
        consumer: AIOKafkaConsumer,
        partitions: Sequence[TopicPartition],
        plan: ReplayPlan,
        report: ReplayReport,
    ) -> None:
        """Replay until the positions reach end offsets read after the last pass, or
        until less than a batch came in during the last pass: while collection goes on,
        something always does, and what came is replayed while following."""
        while True:
            ends = await consumer.end_offsets(list(partitions))
            while True:
                positions = {p: await consumer.position(p) for p in partitions}
                left = sum(max(ends[p] - positions[p], 0) for p in partitions)
                self._progress(report.messages, report.messages + left)
                if not left:
                    break
                await self._step(consumer, ends, plan, report)
            later = await consumer.end_offsets(list(partitions))
            if later == ends:
                await self._apply(self._order.drain(), report)  # everything written is read
                return
            if sum(later[p] - ends[p] for p in partitions) < self._settings.stage_batch_messages:
                return  # the interleaving keeps what waits; the follow phase releases it

    async def _step(
        self,
        consumer: AIOKafkaConsumer,
        ends: dict[TopicPartition, int],
        plan: ReplayPlan,
        report: ReplayReport,
    ) -> None:
        """Fetch what comes, then replay what the interleaving lets go (replay_order.py)."""
        fetched = await consumer.getmany(
            timeout_ms=500, max_records=self._settings.stage_batch_messages
        )
        for records in fetched.values():
            for r in records:
                report.messages += 1
                message = SourceMessage(r.topic, r.partition, r.offset, r.key, r.value)
                rebuild = self._rebuild
                if message.key != REBUILD_KEY and not self._wanted(message, plan):
                    continue
                if rebuild is not None and rebuild.take(message, r.timestamp):
                    continue  # a marker, or held beyond this replay's marker
                if message.key != REBUILD_KEY:  # others' markers are not folded
                    self._order.add(message, r.timestamp)
        positions = {p: await consumer.position(p) for p in ends}

        def drained(topic: str, partition: int) -> bool:
            at = TopicPartition(topic, partition)
            if self._rebuild is not None and self._rebuild.cut.past(topic, partition):
                return True  # everything before the marker is in; the rest waits
            return at not in ends or positions[at] >= ends[at]

        await self._apply(self._order.release(drained), report)
        if self._rebuild is not None:  # partitions whose both markers are passed
            for message, timestamp in await self._rebuild.publish():
                self._order.add(message, timestamp)

    async def _apply(self, messages: Sequence[SourceMessage], report: ReplayReport) -> None:
        if not messages:
            return
        result = await self._profiles.handle(messages)
        report.events += result.applied
        outputs, self._outputs = self._outputs, []
        # Only documents: claims, operations and forwarded intake are in the log already.
        await self._storage.handle([o for o in outputs if o.topic in self._documents])

    def _applied_before_merge(self, profile: Profile, origin: str, offset: int) -> bool:
        """Whether the live stage applied this batch before the profile was merged
        away, though the replay merged it first (replay_order.py)."""
        point = self._merged.get((profile.tenant, profile.env, profile.id), {})
        return seen(point.get(origin), offset)

    def _wanted(self, message: SourceMessage, plan: ReplayPlan) -> bool:
        if plan.tenant is None and plan.env is None:
            return True
        name = PROFILE_OP if message.topic == self._sources[1] else INTAKE_BATCH
        try:
            record = self._codec.decode(name, message.value)
        except HeadwaterError:  # the profile stage dead-letters it with the reason
            return True
        return plan.tenant in (None, record["tenant"]) and plan.env in (None, record["env"])

    async def _collect(self, topic: str, key: bytes, value: bytes) -> Any:
        self._outputs.append(SourceMessage(topic, None, None, key, value))
        return _nothing()

    def _generation(self, tenant: str, env: str) -> int:
        """The generation this replay builds for a tenant and env: the next one."""
        target = self._targets.get((tenant, env))
        if target is None:
            target = self._config.index_generation(tenant, env) + 1
            self._targets[(tenant, env)] = target
        return target

    async def _switch(self, report: ReplayReport) -> None:
        moves: list[AliasMove] = []
        prefix = self._settings.index_prefix
        for (tenant, env), generation in sorted(self._targets.items()):
            # every index the aliases will name exists, documents or not
            await provision_events(
                self._store, self._settings, tenant, env, generation=generation, aliased=False
            )
            await self._publisher.publish(
                kind=GENERATION_KIND,
                tenant=tenant,
                env=env,
                entity_id="search",
                data={"generation": generation},
                version=generation,
                updated_by="headwater replay",
            )
            events = events_alias(prefix, tenant, env)
            current_events = events_index(prefix, tenant, env, datetime.now(UTC), generation)
            built = {i for i in self._writer.indices if i.startswith(f"{events}-{generation:06d}-")}
            moves.append(
                AliasMove(
                    events,
                    tuple(await self._store.get_alias(events)),
                    tuple(sorted(built | {current_events})),
                )
            )
            for alias in (profiles_alias(prefix, tenant, env), sessions_alias(prefix, tenant, env)):
                moves.append(
                    AliasMove(
                        alias,
                        tuple(await self._store.get_alias(alias)),
                        (generation_index(alias, generation),),
                    )
                )
            report.generations[f"{tenant}/{env}"] = generation
        await self._store.move_aliases(moves)
        log.info("aliases moved to the rebuilt generations %s", report.generations)


async def run_replay(
    settings: Settings,
    plan: ReplayPlan,
    *,
    progress: Progress | None = None,
    node_class: Any = None,
) -> ReplayReport:
    """Connect to the broker and the search engine and run one replay."""
    from headwater.adapters.search import connect_search
    from headwater.streams.kafka import AckedProducer

    codec = AvroCodec.default()
    store = await connect_search(settings, node_class=node_class)
    config = ConfigLog(settings, codec)
    producer = AckedProducer(settings)
    try:
        await config.start(wait=settings.config_wait)
        await producer.start(wait=settings.config_wait)
        publisher = ConfigPublisher(settings, codec, producer)
        recorded = None
        if plan.flows == "recorded":
            history = await read_config_history(settings, codec)
            recorded = RecordedAutomation(history, registry_from_entry_points())
        points = await read_merge_points(settings, codec)
        replay = Replay(
            settings, store, config, publisher, codec, progress, recorded, points, producer
        )
        return await replay.run(plan)
    finally:
        await producer.stop()
        await config.stop()
        await store.close()


async def read_config_history(
    settings: Settings, codec: AvroCodec, quiet: float = 1.0
) -> list[ConfigEntry]:
    """Every configuration change on the history topic, oldest first."""
    topic = Topics(settings.topic_prefix).config_history
    return [decode_entry(codec, value) for value in await read_topic(settings, topic, quiet)]


async def read_merge_points(
    settings: Settings, codec: AvroCodec, quiet: float = 1.0
) -> MergePoints:
    """What each absorbed profile had applied when it was merged, from hw.profile.ops."""
    topics = Topics(settings.topic_prefix)
    topic, records = topics.profile_ops, PipelineRecords(codec, topics)
    operations = []
    for value in await read_topic(settings, topic, quiet):
        try:
            operations.append(records.read_op(value))
        except HeadwaterError:  # the replay's profile stage dead-letters it with the reason
            continue
    return merge_points(operations)


async def read_topic(settings: Settings, topic: str, quiet: float = 1.0) -> list[bytes]:
    """Every record value of a topic, in log order per partition. Read until the end
    offsets and then until nothing new came for ``quiet`` seconds (the embedded broker
    under-reports end offsets of batches)."""
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings), enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        partitions = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
        if not partitions:
            return values
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < quiet:
            fetched = await consumer.getmany(timeout_ms=200)
            for records in fetched.values():
                for record in records:
                    if record.value is not None:
                        values.append(record.value)
                    idle_since = time.monotonic()
    finally:
        await consumer.stop()
    return values
