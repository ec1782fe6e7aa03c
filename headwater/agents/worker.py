"""The worker process: a Faust app with the agents an operator asked for."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from headwater.agents.storage import StorageStage
from headwater.errors import ConfigurationError, SearchUnavailable
from headwater.infra.search import SearchStore, connect_search
from headwater.infra.search.writer import Backoff, BulkWriter
from headwater.settings import Settings
from headwater.streams.app import create_faust_app
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage
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


def install_storage(app: Any, settings: Settings, codec: AvroCodec) -> None:
    topics = Topics(settings.topic_prefix)
    intake = app.topic(topics.intake, key_serializer="raw", value_serializer="raw")
    dead_topic = app.topic(topics.deadletter, key_serializer="raw", value_serializer="raw")

    async def send_dead_letter(key: bytes | None, value: bytes) -> None:
        pending = await dead_topic.send(key=key, value=value)
        await pending

    @app.agent(intake, name="storage")  # type: ignore[untyped-decorator]
    async def storage(stream: Any) -> None:
        store = await _connect_search(settings)
        writer = BulkWriter(
            store,
            max_bytes=settings.storage_bulk_bytes,
            max_backoff=settings.storage_max_backoff,
            stopping=lambda: bool(app.should_stop),
        )
        dead = DeadLetters(codec, "storage", send_dead_letter)
        stage = StorageStage(settings, codec, store, writer, dead)
        try:
            async for events in stream.take_events(
                settings.storage_batch_messages, within=settings.storage_batch_seconds
            ):
                messages = [
                    SourceMessage(
                        e.message.topic,
                        e.message.partition,
                        e.message.offset,
                        e.message.key,
                        e.message.value,
                    )
                    for e in events
                ]
                result = await stage.handle(messages)
                log.debug("storage: %s", result)
        finally:
            await store.close()


AGENTS: dict[str, Callable[[Any, Settings, AvroCodec], None]] = {"storage": install_storage}


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
