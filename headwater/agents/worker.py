"""The worker process: a Faust app with the agents an operator asked for."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from headwater.adapters.outbound import build_transports
from headwater.adapters.plugins import registry_from_entry_points
from headwater.adapters.search import connect_search
from headwater.adapters.search.writer import BulkWriter
from headwater.adapters.secrets import StoredSecrets
from headwater.agents.configured import ConfiguredRules
from headwater.agents.destinations import DestinationsStage
from headwater.agents.identity import IdentityStage
from headwater.agents.profile import ProfileStage
from headwater.agents.storage import StorageStage
from headwater.core.ports.search import SearchStore
from headwater.errors import ConfigurationError, SearchUnavailable
from headwater.settings import Settings
from headwater.streams.app import create_faust_app
from headwater.streams.backoff import Backoff
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigLog
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.deadletter import Send as DeadLetterSend
from headwater.streams.sender import RetryingSender
from headwater.streams.table_state import ChangelogState
from headwater.streams.topics import Topics

__all__ = ["AGENTS", "build_worker_app"]

log = logging.getLogger(__name__)


async def _connect_search(settings: Settings) -> SearchStore:
    backoff = Backoff(settings.storage_max_backoff)
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


async def _run_in_batches(
    stream: Any, settings: Settings, handle: Callable[[list[SourceMessage]], Awaitable[Any]]
) -> None:
    """Feed a stage batches of messages; Faust acks them once ``handle`` returns.

    Faust's ``take_events`` acks a batch in a ``finally``, also when the code handling it
    raised, and the next commit would then skip messages that were never processed. So
    an unexpected error ends the process at once, before anything is committed: the
    messages come back to whichever worker takes the partitions. (Expected failures never
    get here: stages dead-letter bad input and wait out unavailable dependencies.)
    """
    async for events in stream.take_events(
        settings.storage_batch_messages, within=settings.storage_batch_seconds
    ):
        try:
            result = await handle(_messages(events))
        except Exception:
            log.critical("a stage failed unexpectedly; exiting before its batch is acked")
            logging.shutdown()
            os._exit(70)  # EX_SOFTWARE; the supervisor restarts the worker
        log.debug("%s", result)


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


def install_profile(app: Any, settings: Settings, codec: AvroCodec) -> None:
    """The profile agent: the one writer of each profile's state (a Faust table), fed
    by intake and by profile operations (merges), which are partitioned alike."""
    topics = Topics(settings.topic_prefix)
    source = _raw_topic(app, topics.intake, topics.profile_ops)
    table = _keyed_table(app, "profiles", settings)
    send = RetryingSender(settings, "profile")
    dead = DeadLetters(codec, "profile", _dead_letter_sender(send, settings))
    config = ConfigLog(settings, codec)
    rules = ConfiguredRules(settings, config, registry_from_entry_points())
    state = ChangelogState(table, send, mark_ends=settings.worker_single_record_batches)
    stage = ProfileStage(
        settings, codec, state, send, dead, rules, rules.automation, rules.registry
    )

    @app.agent(source, name="profile")  # type: ignore[untyped-decorator]
    async def profile(stream: Any) -> None:
        await send.producer.start(wait=settings.config_wait)
        await config.start(wait=settings.config_wait)  # mappings come from hw.config
        try:
            await _run_in_batches(stream, settings, stage.handle)
        finally:
            await config.stop()
            await send.producer.stop()


def install_identity(app: Any, settings: Settings, codec: AvroCodec) -> None:
    """The identity agent (APM): the one writer of ``identifier -> profile``."""
    topics = Topics(settings.topic_prefix)
    source = _raw_topic(app, topics.identity)
    table = _keyed_table(app, "identities", settings)
    send = RetryingSender(settings, "identity")
    dead = DeadLetters(codec, "identity", _dead_letter_sender(send, settings))
    config = ConfigLog(settings, codec)
    rules = ConfiguredRules(settings, config)
    state = ChangelogState(table, send, mark_ends=settings.worker_single_record_batches)
    stage = IdentityStage(
        settings, codec, state, send, dead, lambda tenant, env: rules(tenant, env).merge
    )

    @app.agent(source, name="identity")  # type: ignore[untyped-decorator]
    async def identity(stream: Any) -> None:
        await send.producer.start(wait=settings.config_wait)
        await config.start(wait=settings.config_wait)  # merge settings come from hw.config
        try:
            await _run_in_batches(stream, settings, stage.handle)
        finally:
            await config.stop()
            await send.producer.stop()


def install_storage(app: Any, settings: Settings, codec: AvroCodec) -> None:
    topics = Topics(settings.topic_prefix)
    source = _raw_topic(app, topics.events, topics.profiles, topics.merges)
    send = RetryingSender(settings, "storage")  # its dead letters
    send_dead_letter = _dead_letter_sender(send, settings)
    config = ConfigLog(settings, codec)  # the index generation a replay switched to

    @app.agent(source, name="storage")  # type: ignore[untyped-decorator]
    async def storage(stream: Any) -> None:
        await send.producer.start(wait=settings.config_wait)
        await config.start(wait=settings.config_wait)
        store = await _connect_search(settings)
        writer = BulkWriter(
            store,
            max_bytes=settings.storage_bulk_bytes,
            max_backoff=settings.storage_max_backoff,
            stopping=lambda: bool(app.should_stop),
        )
        dead = DeadLetters(codec, "storage", send_dead_letter)
        stage = StorageStage(settings, codec, store, writer, dead, config.index_generation)
        try:
            await _run_in_batches(stream, settings, stage.handle)
        finally:
            await store.close()
            await config.stop()
            await send.producer.stop()


def install_destinations(app: Any, settings: Settings, codec: AvroCodec) -> None:
    """The destinations agent: performs the side effects flows asked for (hw.outbound)."""
    source = _raw_topic(app, Topics(settings.topic_prefix).outbound)
    send = RetryingSender(settings, "destinations")  # its producer serves kafka requests
    transports = build_transports(settings, send.producer)
    dead = DeadLetters(codec, "destinations", _dead_letter_sender(send, settings))
    config = ConfigLog(settings, codec)  # the stored secrets requests name
    fill = StoredSecrets(settings, config)
    stage = DestinationsStage(settings, codec, transports, dead, fill=fill)

    @app.agent(source, name="destinations")  # type: ignore[untyped-decorator]
    async def destinations(stream: Any) -> None:
        await config.start(wait=settings.config_wait)
        await send.producer.start(wait=settings.config_wait)
        for transport in transports.values():
            await transport.start()
        try:
            await _run_in_batches(stream, settings, stage.handle)
        finally:
            for transport in transports.values():
                await transport.close()
            await send.producer.stop()
            await config.stop()


AGENTS: dict[str, Callable[[Any, Settings, AvroCodec], None]] = {
    "profile": install_profile,
    "identity": install_identity,
    "storage": install_storage,
    "destinations": install_destinations,
}


def build_worker_app(settings: Settings, agents: Iterable[str] | None = None) -> Any:
    chosen = list(agents) if agents else list(AGENTS)
    unknown = [name for name in chosen if name not in AGENTS]
    if unknown:
        raise ConfigurationError(f"unknown agents {unknown}; known: {sorted(AGENTS)}")
    app = create_faust_app(settings)
    codec = AvroCodec.default()
    for name in chosen:
        AGENTS[name](app, settings, codec)
    return app
