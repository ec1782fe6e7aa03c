"""aiokafka adapters: producer set-up, topic creation and error translation."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner

from headwater.errors import BrokerUnavailable
from headwater.settings import Settings
from headwater.streams.topics import TopicSpec

__all__ = ["AckedProducer", "ensure_topics", "new_producer"]

log = logging.getLogger(__name__)


def new_producer(settings: Settings, *, linger_ms: int = 0) -> AIOKafkaProducer:
    """A producer that only reports success once every in-sync replica has the record.

    Idempotence stays off: it needs InitProducerId, which not every Kafka-protocol
    broker supports; duplicates are handled downstream by idempotent processing.
    """
    timeout_ms = int(settings.produce_timeout * 1000)
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_servers,
        acks="all",
        linger_ms=linger_ms,
        request_timeout_ms=timeout_ms,
        retry_backoff_ms=100,
        max_request_size=4 * 1024 * 1024,
        max_batch_size=1024 * 1024,
        compression_type=None,
        client_id="headwater",
    )


@dataclass(slots=True)
class _Pending:
    key: bytes | None
    value: bytes
    future: asyncio.Future[None]


@dataclass(slots=True)
class _Lane:
    """One partition's open batch; at most one batch per partition is in flight."""

    topic: str
    partition: int
    batch: Any = None
    members: list[_Pending] = field(default_factory=list)
    full: deque[tuple[Any, list[_Pending]]] = field(default_factory=deque)
    busy: bool = False


class AckedProducer:
    """Sends records and waits for the broker's acknowledgement, within a deadline.

    Natural batching: per partition, records gather in an open batch (aiokafka's batch
    API) while the previous batch is in flight, and ship the moment it is acknowledged.
    Appending to a batch costs a fraction of per-record ``send()``, which dominated the
    collector's CPU (docs/architecture.md has the figures). Partitions come from the
    client's default murmur2 partitioner, so keys land where Faust and Java clients put
    them. The producer connects in the background and reconnects while the broker is
    away; callers get :class:`BrokerUnavailable`, never a hang or a fake success.
    """

    def __init__(self, settings: Settings, *, linger_ms: int | None = None) -> None:
        self._settings = settings
        self._linger_ms = settings.producer_linger_ms if linger_ms is None else linger_ms
        self._producer: AIOKafkaProducer | None = None
        self._starting: asyncio.Task[None] | None = None
        self._closed = False
        self._partitions: dict[str, list[int]] = {}
        self._lanes: dict[tuple[str, int], _Lane] = {}
        self._shipping: set[asyncio.Task[None]] = set()
        self._partitioner = DefaultPartitioner()
        self._timeout = settings.produce_timeout + 1.0

    @property
    def connected(self) -> bool:
        return self._producer is not None

    async def start(self, wait: float = 0.0) -> None:
        """Begin connecting; wait up to ``wait`` seconds for the first connection."""
        self._starting = asyncio.create_task(self._connect_forever(), name="producer-connect")
        if wait > 0:
            await asyncio.wait({self._starting}, timeout=wait)

    async def _connect_forever(self) -> None:
        delay = 0.2
        while not self._closed:
            producer = new_producer(self._settings, linger_ms=self._linger_ms)
            try:
                await producer.start()
            except KafkaError as exc:
                await producer.stop()
                log.warning("kafka not reachable (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._producer = producer
            return

    async def send(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        """Add the record to its partition's batch and wait for the broker's ack."""
        producer = self._producer
        if producer is None:
            raise BrokerUnavailable("not connected to Kafka yet")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(self._timeout):
                lane = await self._lane(producer, topic, key)
                self._add(producer, lane, _Pending(key, value, future))
                await future
        except TimeoutError as exc:
            raise BrokerUnavailable("Kafka did not acknowledge in time") from exc
        except KafkaError as exc:
            raise BrokerUnavailable(f"Kafka refused the record: {exc!r}") from exc

    async def _lane(self, producer: AIOKafkaProducer, topic: str, key: bytes | None) -> _Lane:
        partitions = self._partitions.get(topic)
        if partitions is None:
            partitions = sorted(await producer.partitions_for(topic))
            self._partitions[topic] = partitions
        if key is None:
            partition = partitions[random.randrange(len(partitions))]
        else:
            partition = self._partitioner(key, partitions, partitions)
        lane = self._lanes.get((topic, partition))
        if lane is None:
            lane = self._lanes[(topic, partition)] = _Lane(topic, partition)
        return lane

    def _add(self, producer: AIOKafkaProducer, lane: _Lane, record: _Pending) -> None:
        if lane.batch is None:
            lane.batch = producer.create_batch()
        if lane.batch.append(key=record.key, value=record.value, timestamp=None) is None:
            if lane.members:  # batch full: queue it and start a new one
                lane.full.append((lane.batch, lane.members))
            lane.batch, lane.members = producer.create_batch(), []
            if lane.batch.append(key=record.key, value=record.value, timestamp=None) is None:
                _fail([record], MessageSizeTooLargeError("record larger than a batch"))
                return
        lane.members.append(record)
        if not lane.busy:
            lane.busy = True  # ship on the next loop turn, with what this turn added
            asyncio.get_running_loop().call_soon(self._ship_next, producer, lane)

    def _ship_next(self, producer: AIOKafkaProducer, lane: _Lane) -> None:
        if lane.full:
            batch, members = lane.full.popleft()
        elif lane.members:
            batch, members = lane.batch, lane.members
            lane.batch, lane.members = None, []
        else:
            lane.busy = False
            return
        task = asyncio.create_task(self._ship(producer, lane, batch, members))
        self._shipping.add(task)
        task.add_done_callback(self._shipping.discard)

    async def _ship(
        self, producer: AIOKafkaProducer, lane: _Lane, batch: Any, members: list[_Pending]
    ) -> None:
        try:
            delivered = await producer.send_batch(batch, lane.topic, partition=lane.partition)
        except KafkaError as exc:
            _fail(members, exc)
            self._partitions.pop(lane.topic, None)  # metadata may have changed
            self._ship_next(producer, lane)
            return

        def settle(done: asyncio.Future[Any]) -> None:
            error = None if done.cancelled() else done.exception()
            if done.cancelled() or error is not None:
                _fail(members, error or KafkaError("batch cancelled"))
            else:
                for member in members:
                    if not member.future.done():
                        member.future.set_result(None)
            self._ship_next(producer, lane)

        delivered.add_done_callback(settle)

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
        if self._shipping:
            await asyncio.gather(*self._shipping, return_exceptions=True)
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


def _fail(records: list[_Pending], error: BaseException) -> None:
    for record in records:
        if not record.future.done():
            record.future.set_exception(BrokerUnavailable(f"Kafka did not acknowledge: {error!r}"))


async def ensure_topics(servers: str, specs: Iterable[TopicSpec], replication: int) -> list[str]:
    """Create missing topics; existing ones are left as they are. Returns those created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers, client_id="headwater-init")
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
