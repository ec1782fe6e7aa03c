"""The compacted config topic as an in-memory view, and the one way to write to it.

Every process keeps the whole configuration in memory: it reads the topic from the
beginning and follows it. The public collector therefore needs nothing but Kafka.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from headwater.core.config import ConfigEntry
from headwater.core.records import ConfigRecord
from headwater.core.sources import SOURCE_KIND, EventSource
from headwater.core.tenancy import generation_key
from headwater.errors import BrokerUnavailable, HeadwaterError
from headwater.schemas import CONFIG_RECORD
from headwater.settings import Settings
from headwater.streams.backoff import RECONNECT_CAP, Backoff
from headwater.streams.codec import AvroCodec
from headwater.streams.kafka import AckedProducer, kafka_client_options, partitions_of
from headwater.streams.topics import Topics

__all__ = ["ConfigLog", "ConfigPublisher", "decode_entry", "encode_entry", "open_config"]

log = logging.getLogger(__name__)


def encode_entry(codec: AvroCodec, entry: ConfigEntry) -> bytes:
    record: ConfigRecord = {
        "kind": entry.kind,
        "tenant": entry.tenant,
        "env": entry.env,
        "id": entry.id,
        "version": entry.version,
        "deleted": entry.deleted,
        "data": orjson.dumps(entry.data),
        "updated_at": int(entry.updated_at.timestamp() * 1000),
        "updated_by": entry.updated_by,
    }
    return codec.encode(CONFIG_RECORD, record)


def decode_entry(codec: AvroCodec, value: bytes) -> ConfigEntry:
    record = codec.decode(CONFIG_RECORD, value)
    record["data"] = orjson.loads(record["data"])
    return ConfigEntry.model_validate(record)


class ConfigLog:
    """Follows the config topic and answers look-ups from memory."""

    def __init__(self, settings: Settings, codec: AvroCodec) -> None:
        self._settings = settings
        self._codec = codec
        self._topic = Topics(settings.topic_prefix).config
        self._entries: dict[str, ConfigEntry] = {}
        self._by_id: dict[tuple[str, str | None, str], ConfigEntry] = {}  # kind, env, id
        self._sources: dict[tuple[str, str], EventSource] = {}
        self._write_keys: dict[str, EventSource] = {}  # live keys only: O(1) per request
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._caught_up = asyncio.Event()
        self._changed = asyncio.Condition()
        self.generation = 0  # grows with every record applied, for caches built on top

    # --- look-ups ---------------------------------------------------------------------

    @property
    def caught_up(self) -> bool:
        return self._caught_up.is_set()

    def entries(self, kind: str | None = None) -> list[ConfigEntry]:
        return [e for e in self._entries.values() if kind is None or e.kind == kind]

    def get(self, key: str) -> ConfigEntry | None:
        return self._entries.get(key)

    def index_generation(self, tenant: str, env: str) -> int:
        """The index generation the search aliases of ``tenant``/``env`` point at."""
        entry = self._entries.get(generation_key(tenant, env))
        return 1 if entry is None else int(entry.data["generation"])

    def entry(self, kind: str, env: str | None, entity_id: str) -> ConfigEntry | None:
        """An entity by kind, environment and id, whatever its tenant (ids are unique)."""
        return self._by_id.get((kind, env, entity_id))

    def source(self, source_id: str, env: str) -> EventSource | None:
        return self._sources.get((env, source_id))

    def source_for_key(self, write_key: str) -> EventSource | None:
        """The source a live (not revoked) write key belongs to, whatever its environment."""
        return self._write_keys.get(write_key)

    # --- following the topic ------------------------------------------------------------

    async def start(self, wait: float = 10.0) -> None:
        """Start following; wait up to ``wait`` seconds for the log to be read to its end."""
        self._task = asyncio.create_task(self._follow_forever(), name="config-log")
        if wait > 0:
            try:
                await asyncio.wait_for(self._caught_up.wait(), wait)
            except TimeoutError:
                log.warning("config log not read to its end within %.1fs; continuing", wait)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()

    async def wait_for(self, key: str, version: int, timeout: float = 10.0) -> ConfigEntry:
        """Wait until the entry ``key`` is at ``version`` or later (read-your-writes)."""

        def ready() -> bool:
            entry = self._entries.get(key)
            return entry is not None and entry.version >= version

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(ready), timeout)
        return self._entries[key]

    async def wait_gone(self, key: str, timeout: float = 10.0) -> None:
        """Wait until the entry ``key`` has been deleted (read-your-deletes)."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: key not in self._entries), timeout
            )

    async def _follow_forever(self) -> None:
        backoff = Backoff(RECONNECT_CAP)
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep following whatever happens; say what happened
                log.warning(
                    "config log: %r; reconnecting in %.1fs", exc, backoff.next_delay, exc_info=True
                )
                if self._consumer is not None:
                    await self._consumer.stop()
                    self._consumer = None
                await backoff.wait()

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            **kafka_client_options(self._settings),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="headwater-config",
        )
        self._consumer = consumer
        await consumer.start()
        partitions = await self._partitions()
        assigned = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=1000)
            for records in batches.values():
                for record in records:
                    await self._apply(record.key, record.value, record.offset)
            if not self._caught_up.is_set() and await self._reached(consumer, ends):
                log.info("config log read: %d entries", len(self._entries))
                self._caught_up.set()

    async def _partitions(self) -> list[int]:
        """The config topic's partitions, once it exists and each has a leader."""
        while not (partitions := await partitions_of(self._settings, self._topic)):
            log.info("config topic %s is not ready yet; waiting", self._topic)
            await asyncio.sleep(0.5)
        return partitions

    @staticmethod
    async def _reached(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
        for partition, end in ends.items():
            if await consumer.position(partition) < end:
                return False
        return True

    async def _apply(self, key: bytes | None, value: bytes | None, offset: int) -> None:
        if key is None:
            log.error("config record at offset %d has no key; ignored", offset)
            return
        skey = key.decode()
        if value is None:
            self._forget(skey)
        else:
            try:
                entry = decode_entry(self._codec, value)
            except (HeadwaterError, ValidationError, orjson.JSONDecodeError) as exc:
                log.error("config record %s at offset %d unreadable: %s", skey, offset, exc)
                return
            if entry.deleted:
                self._forget(skey)
            else:
                self._remember(skey, entry)
        self.generation += 1
        async with self._changed:
            self._changed.notify_all()

    def _remember(self, key: str, entry: ConfigEntry) -> None:
        self._entries[key] = entry
        self._by_id[(entry.kind, entry.env, entry.id)] = entry
        if entry.kind == SOURCE_KIND and entry.env is not None:
            holder = self._sources.get((entry.env, entry.id))
            if holder is not None and holder.tenant != entry.tenant:
                # Source ids are looked up across tenants: the first holder keeps its id.
                log.error(
                    "event source %s of tenant %s ignored: the id belongs to tenant %s",
                    entry.id,
                    entry.tenant,
                    holder.tenant,
                )
                return
            try:
                source = EventSource.model_validate(
                    {**entry.data, "id": entry.id, "tenant": entry.tenant, "env": entry.env}
                )
            except ValidationError as exc:
                log.error("event source %s is invalid and ignored: %s", entry.id, exc)
                self._drop_source(entry.env, entry.id)
                return
            self._drop_source(entry.env, entry.id)  # keys of the previous version go
            self._sources[(entry.env, entry.id)] = source
            for write_key in source.live_keys:
                self._write_keys[write_key] = source

    def _forget(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._by_id.pop((entry.kind, entry.env, entry.id), None)
        if entry is not None and entry.kind == SOURCE_KIND and entry.env is not None:
            holder = self._sources.get((entry.env, entry.id))
            if holder is not None and holder.tenant == entry.tenant:
                self._drop_source(entry.env, entry.id)

    def _drop_source(self, env: str, source_id: str) -> None:
        previous = self._sources.pop((env, source_id), None)
        if previous is not None:
            for write_key in previous.live_keys:
                if self._write_keys.get(write_key) is previous:
                    del self._write_keys[write_key]


class ConfigPublisher:
    """Writes configuration entities; the only writer API for the config topic."""

    def __init__(self, settings: Settings, codec: AvroCodec, producer: AckedProducer) -> None:
        topics = Topics(settings.topic_prefix)
        self._topic = topics.config
        self._history = topics.config_history
        self._codec = codec
        self._producer = producer

    @property
    def producer(self) -> AckedProducer:
        return self._producer

    @property
    def codec(self) -> AvroCodec:
        return self._codec

    async def publish(
        self,
        *,
        kind: str,
        tenant: str,
        env: str | None,
        entity_id: str,
        data: dict[str, Any],
        version: int,
        updated_by: str,
        deleted: bool = False,
    ) -> ConfigEntry:
        entry = ConfigEntry(
            kind=kind,
            tenant=tenant,
            env=env,
            id=entity_id,
            version=version,
            deleted=deleted,
            data=data,
            updated_at=datetime.now(UTC),
            updated_by=updated_by,
        )
        value, key = encode_entry(self._codec, entry), entry.key.encode()
        # the compacted topic keeps the latest version; the history keeps every one
        await self._producer.send(self._topic, value, key)
        await self._producer.send(self._history, value, key)
        return entry


@asynccontextmanager
async def open_config(settings: Settings) -> AsyncIterator[tuple[ConfigLog, ConfigPublisher]]:
    """The config log read to its end, and a publisher, for a command that changes
    configuration (``init``, ``tenant ...``); BrokerUnavailable when Kafka is away."""
    codec = AvroCodec.default()
    producer = AckedProducer(settings)
    config = ConfigLog(settings, codec)
    await producer.start(wait=15.0)
    try:
        if not producer.connected:
            raise BrokerUnavailable(f"Kafka at {settings.kafka_servers} is not reachable")
        await config.start(wait=30.0)
        if not config.caught_up:
            raise BrokerUnavailable("could not read the config topic to its end")
        yield config, ConfigPublisher(settings, codec, producer)
    finally:
        await config.stop()
        await producer.stop()
