"""aiokafka adapters: producer set-up, topic creation and error translation."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka import errors as kafka_errors
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from aiokafka.structs import RecordMetadata

from headwater.errors import BrokerUnavailable, ConfigurationError
from headwater.observability.metrics import PRODUCE_SECONDS, logical_topic, service
from headwater.settings import Settings
from headwater.streams.backoff import RECONNECT_CAP, Backoff
from headwater.streams.partitioning import CachedPartitioner, key_partition
from headwater.streams.produce_deadlines import Expired, ProduceDeadlines, abandon
from headwater.streams.topics import TopicSpec

__all__ = [
    "AckedProducer",
    "ensure_topics",
    "idempotence_wanted",
    "kafka_client_options",
    "new_producer",
]

log = logging.getLogger(__name__)

MAX_BATCH_BYTES = 1024 * 1024

# Bootstrap servers whose broker refused a producer id (``kafka_idempotence=auto``): the
# process asks once, warns once, and produces without idempotence there from then on.
_REFUSED_IDEMPOTENCE: set[str] = set()

# What an idempotent producer meets when the broker lost or no longer accepts its
# producer state: every later batch would fail the same way, so a new producer (a new
# producer id) takes over.
_PRODUCER_STATE_LOST: tuple[type[BaseException], ...] = (
    kafka_errors.OutOfOrderSequenceNumber,
    kafka_errors.UnknownProducerId,
    kafka_errors.InvalidProducerEpoch,
    kafka_errors.ProducerFenced,
)


def kafka_client_options(settings: Settings) -> dict[str, Any]:
    """Connection and security options shared by every aiokafka client we create."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        options["ssl_context"] = create_ssl_context(cafile=cafile)
    if settings.kafka_security_protocol.startswith("SASL"):
        if not settings.kafka_username or settings.kafka_password is None:
            raise ConfigurationError("SASL needs HEADWATER_KAFKA_USERNAME and _PASSWORD")
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_username
        options["sasl_plain_password"] = settings.kafka_password.get_secret_value()
    return options


class _ProducerIdRefusal(logging.Filter):
    """aiokafka logs a refused producer id at ERROR with a bare class name; with ``auto``
    the one warning of :meth:`AckedProducer._refused_idempotence` says what it means."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "InitProducerIdRequest" not in record.getMessage()


_AIOKAFKA_SENDER = logging.getLogger("aiokafka.producer.sender")
_QUIET_REFUSAL = _ProducerIdRefusal()


def idempotence_wanted(settings: Settings) -> bool:
    """Whether the next producer should ask the broker for a producer id."""
    if settings.kafka_idempotence == "auto":
        return settings.kafka_servers not in _REFUSED_IDEMPOTENCE
    return settings.kafka_idempotence == "on"


def new_producer(
    settings: Settings, *, linger_ms: int = 0, idempotent: bool = False
) -> AIOKafkaProducer:
    """A producer that only reports success once every in-sync replica has the record.

    ``idempotent``: the broker drops a batch it already has (a retry after a lost
    acknowledgement), so a retried send is written once. It needs InitProducerId, which
    Apache Kafka grants and the embedded Tansu refuses (see :func:`idempotence_wanted`);
    either way processing downstream is idempotent too. An idempotent producer retries
    a sent batch until the broker takes it: callers keep their own deadlines.
    """
    timeout_ms = int(settings.produce_timeout * 1000)
    return AIOKafkaProducer(
        **kafka_client_options(settings),
        acks="all",
        enable_idempotence=idempotent,
        linger_ms=linger_ms,
        request_timeout_ms=timeout_ms,
        retry_backoff_ms=100,
        max_request_size=4 * 1024 * 1024,
        # room for everything a worker batch or a busy collector sends to one partition
        # in one linger window: a full batch makes every later send wait for it to drain
        max_batch_size=MAX_BATCH_BYTES,
        compression_type=None,
        partitioner=CachedPartitioner(),
        client_id="headwater",
    )


class AckedProducer:
    """Sends records and waits for the broker's acknowledgement, within a deadline.

    The producer connects in the background and reconnects while the broker is away;
    callers get :class:`BrokerUnavailable`, never a hang or a fake success. aiokafka's
    accumulator batches records per partition while earlier requests are in flight; a
    hand-made batching layer on its batch API measured no faster (docs/performance.md).
    """

    def __init__(self, settings: Settings, *, linger_ms: int | None = None) -> None:
        self._settings = settings
        self._linger_ms = settings.producer_linger_ms if linger_ms is None else linger_ms
        self._producer: AIOKafkaProducer | None = None
        self._starting: asyncio.Task[None] | None = None
        self._retired: asyncio.Task[None] | None = None  # a replaced producer stopping
        self._idempotent = False
        self._closed = False
        self._timeout = settings.produce_timeout + 1.0
        self._prefix = settings.topic_prefix  # names topics in metrics
        self._produce_seconds: dict[str, Any] = {}  # topic -> its histogram
        self._deadlines = ProduceDeadlines(self._timeout)

    @property
    def connected(self) -> bool:
        return self._producer is not None

    @property
    def idempotent(self) -> bool:
        """True while connected through an idempotent producer."""
        return self._producer is not None and self._idempotent

    @property
    def producer_id(self) -> int | None:
        """The producer id the broker granted while idempotent, else None."""
        manager = getattr(self._producer, "_txn_manager", None)  # aiokafka keeps it there
        if manager is None or not manager.has_pid():
            return None
        producer_id: int = manager.producer_id
        return producer_id

    async def start(self, wait: float = 0.0) -> None:
        """Begin connecting; wait up to ``wait`` seconds for the first connection."""
        self._starting = asyncio.create_task(self._connect_forever(), name="producer-connect")
        if wait > 0:
            await asyncio.wait({self._starting}, timeout=wait)

    async def _connect_forever(self) -> None:
        backoff = Backoff(RECONNECT_CAP)
        while not self._closed:
            idempotent = idempotence_wanted(self._settings)
            if idempotent and self._settings.kafka_idempotence == "auto":
                _AIOKAFKA_SENDER.addFilter(_QUIET_REFUSAL)  # once: filters are a set
            producer = new_producer(
                self._settings, linger_ms=self._linger_ms, idempotent=idempotent
            )
            try:
                await producer.start()
            except KafkaError as exc:
                await _stop_within(producer, self._timeout)
                if idempotent and self._refused_idempotence(exc):
                    continue
                log.warning("kafka not ready (%r); retrying in %.1fs", exc, backoff.next_delay)
                await backoff.wait()
                continue
            self._idempotent = idempotent
            self._producer = producer
            return

    def _refused_idempotence(self, error: KafkaError) -> bool:
        """The broker answered, and refused a producer id for good (a retriable error,
        such as no connection, is not a refusal): with ``auto``, remember it and produce
        without idempotence (one warning per process and cluster)."""
        if error.retriable or self._settings.kafka_idempotence != "auto":
            return False
        _REFUSED_IDEMPOTENCE.add(self._settings.kafka_servers)
        log.warning(
            "the broker refused a producer id (%r): producing without idempotence "
            "(HEADWATER_KAFKA_IDEMPOTENCE=auto; Apache Kafka grants it)",
            error,
        )
        return True

    def _watch_state(self, producer: AIOKafkaProducer, sent: asyncio.Future[Any]) -> None:
        """Replace an idempotent producer whose producer state the broker lost."""
        if not sent.cancelled():
            self._replace_if_lost(producer, sent.exception())

    def _replace_if_lost(self, producer: AIOKafkaProducer, error: BaseException | None) -> None:
        if not isinstance(error, _PRODUCER_STATE_LOST):
            return
        if self._producer is not producer or self._closed:
            return  # already replaced
        log.warning("kafka lost this producer's state (%r); starting a new one", error)
        self._producer = None
        self._retired = asyncio.create_task(_stop_within(producer, self._timeout))
        self._starting = asyncio.create_task(self._connect_forever(), name="producer-connect")

    async def send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        partition: int | None = None,
    ) -> RecordMetadata:
        """Write one record; returns once every in-sync replica has it."""
        started = time.perf_counter()
        deadline = self._deadlines.start()
        producer, queued = await self._queue(topic, value, key, partition)
        self._deadlines.watch(queued, deadline)
        try:
            metadata: RecordMetadata = await queued
        except KafkaError as exc:
            raise self._not_acknowledged(producer, exc) from exc
        except BaseException:  # cancelled: whatever becomes of the record is nobody's
            abandon([queued])
            raise
        self._observe(topic, time.perf_counter() - started)
        return metadata

    async def _queue(
        self, topic: str, value: bytes | None, key: bytes | None, partition: int | None
    ) -> tuple[AIOKafkaProducer, asyncio.Future[RecordMetadata]]:
        """Hand one record to aiokafka (bounded by its own request timeout while it
        waits for metadata or room in a batch); the future is its acknowledgement."""
        producer = self._producer
        if producer is None:
            raise BrokerUnavailable("not connected to Kafka yet")
        try:
            queued: asyncio.Future[RecordMetadata] = await producer.send(
                topic, value, key=key, partition=partition
            )
        except KafkaError as exc:
            raise BrokerUnavailable(f"Kafka did not take the record: {exc!r}") from exc
        return producer, queued

    def _not_acknowledged(self, producer: AIOKafkaProducer, error: KafkaError) -> BrokerUnavailable:
        if isinstance(error, Expired):
            return BrokerUnavailable("Kafka did not acknowledge in time")
        if self._idempotent:
            self._replace_if_lost(producer, error)
        return BrokerUnavailable(f"Kafka did not acknowledge: {error!r}")

    async def enqueue(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None = None,
        partition: int | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        """Queue one record; the future resolves when the broker acknowledges it.

        For callers that queue many records and wait for them together: no task and no
        deadline per record (a record the broker never takes fails its future when the
        producer's request timeout expires). ``partition`` overrides the key's.
        """
        producer, queued = await self._queue(topic, value, key, partition)
        if self._idempotent:
            queued.add_done_callback(partial(self._watch_state, producer))
        queued.add_done_callback(partial(self._acknowledged, topic, time.perf_counter()))
        return queued

    def partition_for(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> int | None:
        """The partition aiokafka's own ``send`` would put this record in, or None while
        the topic's metadata is not at hand (``enqueue`` waits for it). Raises
        BrokerUnavailable when not connected, or for a record over the producer's
        request size (caused by aiokafka's MessageSizeTooLargeError, as ``enqueue``)."""
        producer = self._producer
        if producer is None:
            raise BrokerUnavailable("not connected to Kafka yet")
        partitions = producer._metadata.partitions_for_topic(topic)  # aiokafka's cache
        if partitions is None:
            return None
        try:
            if len(key or b"") + len(value or b"") > producer._max_request_size - 1024:
                producer._serialize(key, value, [])  # the size check of ``send``
            if partition is None and key is not None:  # its partitioner, without the
                return key_partition(key, len(partitions))  # set of available ones
            chosen: int = producer._partition(topic, partition, key, value, key, value)
        except KafkaError as exc:
            raise BrokerUnavailable(f"Kafka did not take the record: {exc!r}") from exc
        return chosen

    async def enqueue_batch(
        self, topic: str, partition: int, records: Sequence[tuple[bytes | None, bytes | None]]
    ) -> list[tuple[asyncio.Future[RecordMetadata], int]]:
        """Queue ``(key, value)`` records for one partition, in order, through aiokafka's
        batch API: one future per batch of at most ``MAX_BATCH_BYTES`` (resolving to its
        first record's offset) and how many records it holds.

        Per record this only appends to a batch buffer: no coroutine, future or
        callbacks per record as ``enqueue`` makes, which cost a worker stage some 30 us
        a record (docs/performance.md).
        """
        producer = self._producer
        if producer is None:
            raise BrokerUnavailable("not connected to Kafka yet")
        builders = [producer.create_batch()]
        for key, value in records:
            if builders[-1].append(timestamp=None, key=key, value=value) is None:
                builders.append(producer.create_batch())  # full: the next one
                builders[-1].append(timestamp=None, key=key, value=value)  # first always fits
        queued: list[tuple[asyncio.Future[RecordMetadata], int]] = []
        started = time.perf_counter()
        try:
            for builder in builders:
                count = builder.record_count()
                future = await producer.send_batch(builder, topic, partition=partition)
                if self._idempotent:
                    future.add_done_callback(partial(self._watch_state, producer))
                future.add_done_callback(partial(self._acknowledged, topic, started))
                queued.append((future, count))
        except KafkaError as exc:
            abandon(future for future, _ in queued)  # what was queued still goes
            raise BrokerUnavailable(f"Kafka did not take the records: {exc!r}") from exc
        return queued

    def _acknowledged(self, topic: str, started: float, sent: asyncio.Future[Any]) -> None:
        """Time from queueing to the acknowledgement (``headwater_produce_seconds``)."""
        if sent.cancelled() or sent.exception() is not None:
            return
        self._observe(topic, time.perf_counter() - started)

    def _observe(self, topic: str, seconds: float, records: int = 1) -> None:
        observed = self._produce_seconds.get(topic)
        if observed is None:
            observed = PRODUCE_SECONDS.labels(service(), logical_topic(self._prefix, topic))
            if len(self._produce_seconds) < 64:  # a flow may publish to many topics
                self._produce_seconds[topic] = observed
        for _ in range(records):
            observed.observe(seconds)

    async def send_many(self, topic: str, records: Sequence[tuple[bytes, bytes | None]]) -> None:
        """Write several ``(value, key)`` records; returns once the broker has them all.

        They are queued at once and their acknowledgements awaited together, so a request
        that touches many profiles costs one round of waiting, not one per record. Each
        record counts in ``headwater_produce_seconds`` with the time until all were
        acknowledged.
        """
        started = time.perf_counter()
        deadline = self._deadlines.start()
        queued: list[asyncio.Future[RecordMetadata]] = []
        try:
            for value, key in records:
                producer, future = await self._queue(topic, value, key, None)
                self._deadlines.watch(future, deadline)
                queued.append(future)
            for future in queued:  # acknowledged together: mostly done when the first is
                await future
        except BaseException as exc:
            abandon(queued)  # what becomes of the others is nobody's now
            if isinstance(exc, KafkaError):
                raise self._not_acknowledged(producer, exc) from exc
            raise
        self._observe(topic, time.perf_counter() - started, len(queued))

    async def reachable(self, timeout: float = 2.0) -> bool:
        """True when the cluster answers a metadata request in time."""
        producer = self._producer
        if producer is None:
            return False
        try:
            return bool(await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout))
        except (KafkaError, TimeoutError, OSError):
            return False

    async def stop(self) -> None:
        self._closed = True
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
        if self._producer is not None:
            await _stop_within(self._producer, self._timeout)
            self._producer = None
        if self._retired is not None:
            await self._retired


async def _stop_within(producer: AIOKafkaProducer, seconds: float) -> None:
    """Stop ``producer``, flushing what it holds for at most ``seconds``.

    An idempotent producer retries a sent batch until the broker takes it, so while the
    broker is away its flush never ends; its callers have had their own deadlines, so
    what is still unacknowledged then is given up (nobody was told it was stored).
    """
    try:
        await asyncio.wait_for(producer.stop(), seconds)
    except TimeoutError:
        log.warning("kafka producer stopped with unacknowledged records")
        sender = producer._sender.sender_task  # aiokafka's delivery loop
        if sender is not None and not sender.done():
            sender.cancel()
        await producer.client.close()


async def ensure_topics(settings: Settings, specs: Iterable[TopicSpec]) -> list[str]:
    """Create missing topics; existing ones are left as they are. Returns those created."""
    replication = settings.replication_factor
    admin = AIOKafkaAdminClient(**kafka_client_options(settings), client_id="headwater-init")
    await admin.start()
    created: list[str] = []
    try:
        existing = set(await admin.list_topics())
        for spec in specs:
            if spec.name in existing:
                continue
            topic = NewTopic(spec.name, spec.partitions, replication, topic_configs=spec.configs)
            response = await admin.create_topics([topic])
            for name, code, message in response.topic_errors:
                if code == TopicAlreadyExistsError.errno:
                    continue
                if code:
                    raise BrokerUnavailable(f"could not create topic {name}: {code} {message}")
                created.append(name)
    except KafkaError as exc:
        raise BrokerUnavailable(f"could not create topics: {exc!r}") from exc
    finally:
        await admin.close()
    return created


async def partitions_of(settings: Settings, topic: str) -> list[int]:
    """The partitions of ``topic``, asked of the cluster; [] while it does not exist or
    a partition has no leader yet. (A consumer's own metadata covers only the topics it
    already reads: on Apache Kafka, ``partitions_for_topic`` of any other topic is None.)"""
    admin = AIOKafkaAdminClient(**kafka_client_options(settings), client_id="headwater-metadata")
    await admin.start()
    try:
        # Asking for one topic's metadata makes a broker with auto.create.topics.enable
        # (Apache Kafka's default) create it, with none of its configuration (a config
        # topic not compacted): list every topic first, and ask only for one that exists.
        if topic not in await admin.list_topics():
            return []
        described = await admin.describe_topics([topic])
    except KafkaError as exc:
        raise BrokerUnavailable(f"could not describe topic {topic}: {exc!r}") from exc
    finally:
        await admin.close()
    for entry in described:
        if entry["topic"] != topic or entry["error_code"]:
            continue
        partitions = entry["partitions"]
        if partitions and all(p["error_code"] == 0 and p["leader"] >= 0 for p in partitions):
            return sorted(int(p["partition"]) for p in partitions)
    return []
