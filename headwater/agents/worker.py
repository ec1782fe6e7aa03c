"""The worker process: a Faust app with the agents an operator asked for."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, NoReturn

from headwater.adapters.outbound import build_transports
from headwater.adapters.plugins import registry_from_entry_points
from headwater.adapters.search import connect_search
from headwater.adapters.search.writer import BulkWriter
from headwater.adapters.secrets import StoredSecrets
from headwater.agents.configured import ConfiguredRules
from headwater.agents.destinations import DestinationsStage
from headwater.agents.identity import IdentityStage
from headwater.agents.observed import ConsumerLag, assigned_partitions, timed_batch
from headwater.agents.profile import ProfileStage
from headwater.agents.profile_rebuild import live_switch
from headwater.agents.storage import StorageStage
from headwater.core.ports.search import SearchStore
from headwater.errors import ConfigurationError, SearchUnavailable
from headwater.settings import Settings
from headwater.streams.app import create_faust_app
from headwater.streams.backoff import Backoff
from headwater.streams.batches import Batch, take_batches
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigLog
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.deadletter import Send as DeadLetterSend
from headwater.streams.sender import RetryingSender
from headwater.streams.table_state import ChangelogState
from headwater.streams.topics import Topics

__all__ = ["AGENTS", "SERVICES", "build_worker_app"]

log = logging.getLogger(__name__)

# A stage's handler: one batch of messages in, done when its outputs are acknowledged
# (or returning a future that is: ``_run_in_batches``)
Handle = Callable[[list[SourceMessage]], Awaitable[Any]]


async def _connect_search(settings: Settings) -> SearchStore:
    backoff = Backoff(settings.stage_max_backoff)
    while True:
        try:
            return await connect_search(settings)
        except SearchUnavailable as exc:
            log.warning("search engine not reachable (%s); retrying", exc)
            await backoff.wait()


def _raw_topic(app: Any, *names: str) -> Any:
    return app.topic(*names, key_serializer="raw", value_serializer="raw")


def _dead_letter_sender(send: RetryingSender, settings: Settings) -> DeadLetterSend:
    """Dead letters leave through the stage's own producer, like its other outputs
    (idempotent where the broker allows: kafka.py), retried while the broker is away."""
    dead_topic = Topics(settings.topic_prefix).deadletter

    async def send_dead_letter(key: bytes | None, value: bytes) -> None:
        await (await send(dead_topic, key, value))

    return send_dead_letter


def _messages(events: Any) -> list[SourceMessage]:
    return [
        SourceMessage(
            e.message.topic, e.message.partition, e.message.offset, e.message.key, e.message.value
        )
        for e in events
    ]


def _batch_messages(settings: Settings, stage: str) -> int:
    """Most messages ``stage`` takes in one step. The profile stage writes each profile
    it touched once per batch (its state, its snapshot), and the storage stage each
    profile and session document once per batch (core/ports/search.py
    ``latest_versions``): with a backlog, a larger batch folds more messages of a
    profile into one write. Idle, a batch is cut after ``stage_batch_seconds`` whatever
    its size."""
    scale = {"profile": settings.profile_batch_scale, "storage": settings.storage_batch_scale}
    return settings.stage_batch_messages * scale.get(stage, 1)


async def _run_in_batches(stream: Any, settings: Settings, stage: str, handle: Handle) -> None:
    """Feed a stage batches of messages; they are acked once ``handle`` returns, and
    only those ``handle`` returned for count toward the commit (streams/consumer.py).
    The next batch fills while ``handle`` works (streams/batches.py).

    A handler may return a future instead: its batch's outputs are still on their way
    (the storage stage's bulk writes) and the next batch is taken at once. Such a batch
    counts, and is acked, only once that future is done and the batch before it counted
    (:class:`BatchCounts`), so a batch whose writes are in flight never counts, even
    when a later one finished first.

    A batch is acked in a ``finally``, also when the code handling it raised or was
    cancelled; the worker's consumer does not count those acks. An
    unexpected error still ends the process at once: the messages come back to whichever
    worker takes the partitions. (Expected failures never get here: stages dead-letter
    bad input and wait out unavailable dependencies.)
    """
    consumer = stream.app.consumer
    batches = take_batches(stream, _batch_messages(settings, stage), settings.stage_batch_seconds)
    if (tracked := getattr(stream, "_active_agens", None)) is not None:
        tracked.add(batches)  # closed when the stream stops, as Faust's own takes are
    counts = BatchCounts(consumer)
    async for events in batches:
        messages = _messages(events)
        try:
            result = await timed_batch(stage, messages, partial(handle, messages))
        except Exception:
            _exit_at_once()
        counts.add(events, result)


class BatchCounts:
    """Counts a stage's batches as processed (``consumer.processed``) in the order they
    came, each once its outputs are acknowledged: at once when its handler returned
    something else than a future, else once that future is done. A batch never counts
    before the one ahead of it, even when its own writes finished first; one whose
    future was cancelled (the stage stopping) never counts, nor do those waiting on it:
    they are acked without counting, and read again."""

    def __init__(self, consumer: Any) -> None:
        self._consumer = consumer
        self._last: asyncio.Future[None] | None = None  # the last batch still waiting

    def add(self, events: Batch, result: Any) -> None:
        if isinstance(result, asyncio.Future) or (self._last and not self._last.done()):
            self._last = asyncio.ensure_future(self._when_done(events, result, self._last))
            events.ack_when(self._last)
        else:
            self._count(events, result)

    async def _when_done(
        self, events: Batch, result: Any, before: asyncio.Future[None] | None
    ) -> None:
        try:
            if isinstance(result, asyncio.Future):
                result = await result
            if before is not None:
                await before
        except Exception:
            _exit_at_once()
        self._count(events, result)

    def _count(self, events: Batch, result: Any) -> None:
        self._consumer.processed(event.message for event in events)
        log.debug("%s", result)


def _exit_at_once() -> NoReturn:
    log.critical("a stage failed unexpectedly; exiting before its batch is acked")
    logging.shutdown()
    os._exit(70)  # EX_SOFTWARE; the supervisor restarts the worker


def _keyed_table(app: Any, name: str, settings: Settings) -> Any:
    """A bytes table whose changelog partition follows the key (``use_partitioner``),
    which is the source topic's partitioning, so it stays right when one batch spans
    partitions (streams/store.py files keys the same way on disk)."""
    return app.Table(
        name,
        default=None,
        key_type=bytes,
        value_type=bytes,
        partitions=settings.partitions,
        use_partitioner=True,
    )


@dataclass(frozen=True)
class _Parts:
    """What every stage is given: its producer (outputs and dead letters), its dead
    letters and a view of ``hw.config``, started and stopped by the agent."""

    settings: Settings
    codec: AvroCodec
    send: RetryingSender
    dead: DeadLetters
    config: ConfigLog


# Builds a stage when the worker is assembled (tables must exist before the app starts);
# the context it returns opens what the stage needs once the agent runs and gives its
# handler, and closes it again.
Install = Callable[[Any, _Parts], AbstractAsyncContextManager[Handle]]


@asynccontextmanager
async def _nothing_to_open(handle: Handle) -> AsyncIterator[Handle]:
    yield handle


def _profile(app: Any, parts: _Parts) -> AbstractAsyncContextManager[Handle]:
    """The one writer of each profile's state (a Faust table), fed by intake and by
    profile operations (merges), which are partitioned alike; mappings, rules and flows
    come from hw.config."""
    settings = parts.settings
    table = _keyed_table(app, "profiles", settings)
    rules = ConfiguredRules(settings, parts.config, registry_from_entry_points())
    state = ChangelogState(table, parts.send, mark_ends=settings.worker_single_record_batches)
    stage = ProfileStage(
        settings,
        parts.codec,
        state,
        parts.send,
        parts.dead,
        rules,
        rules.automation,
        rules.registry,
    )
    # a replay's rebuilt profiles replace the table's at its markers (profile_rebuild.py)
    switch = live_switch(settings, parts.codec, state, stage.handle, parts.send, parts.dead)
    return _nothing_to_open(switch.handle)


def _identity(app: Any, parts: _Parts) -> AbstractAsyncContextManager[Handle]:
    """The one writer of ``identifier -> profile``, which decides the merges with the merge
    settings from hw.config: the design's APM (Automatic Profile Merging) service."""
    settings = parts.settings
    table = _keyed_table(app, "identities", settings)
    rules = ConfiguredRules(settings, parts.config)
    state = ChangelogState(table, parts.send, mark_ends=settings.worker_single_record_batches)
    stage = IdentityStage(
        settings,
        parts.codec,
        state,
        parts.send,
        parts.dead,
        lambda tenant, env: rules(tenant, env).merge,
    )
    return _nothing_to_open(stage.handle)


@asynccontextmanager
async def _storage(app: Any, parts: _Parts) -> AsyncIterator[Handle]:
    """Writes documents to search, into the index generation hw.config names (a replay
    switches it); its producer carries only its dead letters."""
    settings = parts.settings
    store = await _connect_search(settings)
    try:
        writer = BulkWriter(
            store,
            max_bytes=settings.storage_bulk_bytes,
            max_backoff=settings.stage_max_backoff,
            stopping=lambda: bool(app.should_stop),
        )
        config = parts.config
        stage = StorageStage(
            settings, parts.codec, store, writer, parts.dead, config.index_generation
        )
        try:
            yield stage.write_behind  # counted once its writes are acknowledged
        finally:
            await stage.close()  # no write left in flight when the store closes
    finally:
        await store.close()


def _destinations(app: Any, parts: _Parts) -> AbstractAsyncContextManager[Handle]:
    """Performs the side effects flows asked for (hw.outbound), with the stored secrets
    from hw.config; its producer also serves the kafka requests."""
    transports = build_transports(parts.settings, parts.send.producer)
    fill = StoredSecrets(parts.settings, parts.config)
    stage = DestinationsStage(parts.settings, parts.codec, transports, parts.dead, fill=fill)

    @asynccontextmanager
    async def opened() -> AsyncIterator[Handle]:
        for transport in transports.values():
            await transport.start()
        try:
            yield stage.handle
        finally:
            for transport in transports.values():
                await transport.close()

    return opened()


def _sources(topics: Topics) -> dict[str, tuple[str, ...]]:
    return {
        "profile": (topics.intake, topics.profile_ops),
        "identity": (topics.identity,),
        "storage": (topics.events, topics.profiles, topics.merges),
        "destinations": (topics.outbound,),
    }


AGENTS: dict[str, Install] = {
    "profile": _profile,
    "identity": _identity,
    "storage": _storage,
    "destinations": _destinations,
}


def _install(app: Any, settings: Settings, codec: AvroCodec, name: str) -> None:
    """One agent: its stage reads ``name``'s topics in batches, between the start and the
    stop of its producer and its config view."""
    # a stage queues a batch's outputs before it waits: one aiokafka batch per partition
    send = RetryingSender(settings, name, batched=True)
    dead = DeadLetters(codec, name, _dead_letter_sender(send, settings))
    parts = _Parts(settings, codec, send, dead, ConfigLog(settings, codec))
    opened = AGENTS[name](app, parts)
    source = _raw_topic(app, *_sources(Topics(settings.topic_prefix))[name])

    async def run(stream: Any) -> None:
        await send.producer.start(wait=settings.config_wait)
        await parts.config.start(wait=settings.config_wait)
        try:
            async with opened as handle:
                await _run_in_batches(stream, settings, name, handle)
        finally:
            await parts.config.stop()
            await send.producer.stop()

    app.agent(source, name=name)(run)


def _jobs(app: Any, settings: Settings) -> None:
    """Runs the jobs asked for on the jobs topic (agents/jobs.py): not a stream of one
    topic's batches but a consumer group of its own, whose partitions name the jobs
    this worker runs."""
    from headwater.agents.jobs import JobWorker

    async def run_jobs() -> None:
        await JobWorker(settings).run()

    app.task(run_jobs)


# Installed beside the agents; ``--agents`` names them like agents.
SERVICES: dict[str, Callable[[Any, Settings], None]] = {"jobs": _jobs}


def build_worker_app(settings: Settings, agents: Iterable[str] | None = None) -> Any:
    chosen = list(agents) if agents else [*AGENTS, *SERVICES]
    unknown = [name for name in chosen if name not in AGENTS and name not in SERVICES]
    if unknown:
        known = sorted([*AGENTS, *SERVICES])
        raise ConfigurationError(f"unknown agents {unknown}; known: {known}")
    from headwater.streams.consumer import use_worker_consumer  # imports Faust

    app = create_faust_app(settings)
    use_worker_consumer(app)  # commits what a stage processed (``_run_in_batches``)
    codec = AvroCodec.default()
    for name in chosen:
        if name in SERVICES:
            SERVICES[name](app, settings)
        else:
            _install(app, settings, codec, name)
    _watch_lag(app, settings, [name for name in chosen if name in AGENTS])
    return app


def _watch_lag(app: Any, settings: Settings, stages: list[str]) -> None:
    """Every ``worker_lag_interval`` seconds, the lag of the partitions this worker has."""
    sources = _sources(Topics(settings.topic_prefix))
    lag = ConsumerLag(settings, {stage: sources[stage] for stage in stages})

    async def read_lag() -> None:
        try:
            await lag.update(assigned_partitions(app))
        except Exception:  # a metric must never stop the worker
            log.exception("consumer lag not read")

    app.timer(settings.worker_lag_interval, on_leader=False)(read_lag)
