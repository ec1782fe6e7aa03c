"""How the worker's stages send their outputs: queued at once, acknowledged together,
retried with back-off while the broker is away; a record the broker can never take
(too large, an invalid or forbidden topic) fails with RecordRejected at once, so the
stage dead-letters its cause and the partition moves on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from aiokafka import errors as kafka_errors
from aiokafka.structs import RecordMetadata

from headwater.errors import BrokerUnavailable, RecordRejected
from headwater.observability.metrics import STAGE_RECORDS_OUT, logical_topic
from headwater.settings import Settings
from headwater.streams.backoff import Backoff
from headwater.streams.kafka import AckedProducer

__all__ = ["NOT_RETRIABLE", "RetryingSender", "Send", "rejection"]

log = logging.getLogger(__name__)

# Broker and client errors that the same record will meet again however often it is sent.
NOT_RETRIABLE: tuple[type[BaseException], ...] = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.InvalidTopicError,
    kafka_errors.TopicAuthorizationFailedError,
    kafka_errors.ClusterAuthorizationFailedError,
    kafka_errors.UnsupportedForMessageFormatError,
    kafka_errors.CorruptRecordException,
)


def rejection(error: BaseException, topic: str) -> RecordRejected | None:
    """``error`` (or what caused it) as a RecordRejected when retrying cannot help."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, RecordRejected):
            return seen
        if isinstance(seen, NOT_RETRIABLE):
            return RecordRejected(f"{topic}: {seen!r}")
        seen = seen.__cause__
    return None


# Queues one record and returns something to await for the broker's acknowledgement.
Send = Callable[[str, bytes, bytes], Awaitable[Awaitable[Any]]]


class RetryingSender:
    """Sends a stage's outputs through a plain acks=all producer.

    The stages await every acknowledgement themselves before they write state, so
    Faust's per-message send path (futures, buffer, attachments) buys nothing; it cost a
    third of the worker's CPU (bench/pipeline.py). A call queues the record straight
    into the producer's batches and returns a future for its acknowledgement; only a
    record the broker refused gets a task, which retries it with back-off while an
    outage holds the stage back. Nothing is dropped.
    """

    def __init__(
        self, settings: Settings, stage: str, *, linger_ms: int = 0, batched: bool = False
    ) -> None:
        self._max_backoff = settings.stage_max_backoff
        self._stage = stage
        self._prefix = settings.topic_prefix
        self._records_out: dict[str, Any] = {}  # topic -> its counter
        # no linger: a stage queues a whole batch's records before it waits, so they
        # are already together; lingering would only add to each round of waiting.
        # (A bridge sends one record per message as they come: it lingers.)
        self.producer = AckedProducer(settings, linger_ms=linger_ms)
        self._batched = batched
        self._outbox: dict[tuple[str, int], _Group] = {}  # records not handed over yet
        self._flushing: asyncio.Task[None] | None = None

    async def __call__(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> asyncio.Future[RecordMetadata]:
        """Queue a record; the future resolves when the broker has acknowledged it (or,
        ``batched``, every record queued with it for its partition until the caller
        waited: to that partition's last offset among them)."""
        if self._batched:
            try:
                chosen = self.producer.partition_for(topic, key, value, partition)
            except BrokerUnavailable as exc:
                return self._unsent(topic, key, value, partition, exc)
            if chosen is not None:
                return self._queue(topic, chosen, key, value)
        try:
            sent = await self.producer.enqueue(topic, value, key, partition)
        except BrokerUnavailable as exc:
            return self._unsent(topic, key, value, partition, exc)
        confirmed: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        sent.add_done_callback(partial(self._settle, confirmed, (topic, key, value, partition)))
        return confirmed

    def _unsent(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        error: BrokerUnavailable,
    ) -> asyncio.Future[RecordMetadata]:
        """A record the producer did not take: refused for good, or delivered by a task
        that retries it."""
        if (rejected := rejection(error, topic)) is not None:
            log.error("%s output to %s refused for good: %s", self._stage, topic, rejected)
            failed: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
            failed.set_exception(rejected)
            return failed
        return asyncio.ensure_future(self._deliver(topic, key, value, partition))

    # --- batched: a partition's records handed to aiokafka as one batch ---------------

    def _queue(
        self, topic: str, partition: int, key: bytes | None, value: bytes | None
    ) -> asyncio.Future[RecordMetadata]:
        """Keep the record for its partition until the caller next waits (a stage
        queues a whole batch's outputs before it waits), then hand each partition's
        records over together (:meth:`_flush`)."""
        group = self._outbox.get((topic, partition))
        if group is None:
            group = self._outbox[topic, partition] = _Group()
        group.records.append((key, value))
        if self._flushing is None:
            self._flushing = asyncio.ensure_future(self._flush())
        return group.confirmed

    async def _flush(self) -> None:
        """Hand the outbox to the producer, a partition at a time, in the order queued
        (one flush at a time, so a partition's records keep their order)."""
        try:
            while self._outbox:
                groups, self._outbox = self._outbox, {}
                for (topic, partition), group in groups.items():
                    try:
                        await self._hand_over(topic, partition, group, group.records)
                    except Exception as exc:  # not the broker's: the waiting stage raises it
                        group.fail(exc)
        finally:
            self._flushing = None

    async def _hand_over(
        self,
        topic: str,
        partition: int,
        group: _Group,
        records: list[tuple[bytes | None, bytes | None]],
    ) -> None:
        group.waiting += 1
        try:
            queued = await self.producer.enqueue_batch(topic, partition, records)
        except BrokerUnavailable as exc:
            self._batch_failed(topic, partition, group, records, exc)
            return
        group.waiting += len(queued) - 1
        start = 0
        for future, count in queued:
            part = records[start : start + count]
            start += count
            future.add_done_callback(partial(self._batch_done, topic, partition, group, part))

    def _batch_done(
        self,
        topic: str,
        partition: int,
        group: _Group,
        records: list[tuple[bytes | None, bytes | None]],
        sent: asyncio.Future[RecordMetadata],
    ) -> None:
        if sent.cancelled() or sent.exception() is not None:
            error = None if sent.cancelled() else sent.exception()
            self._batch_failed(topic, partition, group, records, error)
            return
        first = sent.result()  # the batch's first offset
        group.done(first._replace(offset=first.offset + len(records) - 1))
        self._sent(topic, len(records))

    def _batch_failed(
        self,
        topic: str,
        partition: int,
        group: _Group,
        records: list[tuple[bytes | None, bytes | None]],
        error: BaseException | None,
    ) -> None:
        """A batch not acknowledged: refused for good (every record queued with it is
        refused: the broker refuses batches), or delivered again record by record."""
        if error is not None and (rejected := rejection(error, topic)) is not None:
            log.error("%s output to %s refused for good: %s", self._stage, topic, rejected)
            group.fail(rejected)
            return
        log.warning("%s outputs to %s not acknowledged; retrying", self._stage, topic)
        retry = asyncio.ensure_future(self._deliver_each(topic, partition, records))
        retry.add_done_callback(group.settle)

    async def _deliver_each(
        self, topic: str, partition: int, records: list[tuple[bytes | None, bytes | None]]
    ) -> RecordMetadata:
        """Each record, in order, retried until the broker takes it; the last's metadata."""
        metadata = [await self._deliver(topic, key, value, partition) for key, value in records]
        return metadata[-1]

    def _settle(
        self,
        confirmed: asyncio.Future[RecordMetadata],
        record: tuple[str, bytes | None, bytes | None, int | None],
        sent: asyncio.Future[RecordMetadata],
    ) -> None:
        if not sent.cancelled() and sent.exception() is None:
            confirmed.set_result(sent.result())
            self._sent(record[0])
            return
        error = None if sent.cancelled() else sent.exception()
        if error is not None and (rejected := rejection(error, record[0])) is not None:
            log.error("%s output to %s refused for good: %s", self._stage, record[0], rejected)
            confirmed.set_exception(rejected)
            return
        log.warning("%s output to %s not acknowledged; retrying", self._stage, record[0])
        retry = asyncio.ensure_future(self._deliver(*record))
        retry.add_done_callback(partial(_copy_outcome, confirmed))

    async def _deliver(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None
    ) -> RecordMetadata:
        backoff = Backoff(self._max_backoff)
        while True:
            try:
                metadata = await self.producer.send(topic, value, key, partition)
            except BrokerUnavailable as exc:
                if (rejected := rejection(exc, topic)) is not None:
                    raise rejected from exc
                log.warning("%s outputs wait for Kafka: %s", self._stage, exc)
                await backoff.wait()
                continue
            self._sent(topic)
            return metadata

    def _sent(self, topic: str, records: int = 1) -> None:
        """Records of this stage acknowledged (``headwater_stage_records_out_total``)."""
        counter = self._records_out.get(topic)
        if counter is None:
            counter = STAGE_RECORDS_OUT.labels(self._stage, logical_topic(self._prefix, topic))
            if len(self._records_out) < 64:  # a flow may publish to many topics
                self._records_out[topic] = counter
        counter.inc(records)


class _Group:
    """The records queued for one partition between two waits of the caller, and the
    one future they all resolve: to the highest offset among them once every batch
    is acknowledged, or to the first failure."""

    __slots__ = ("confirmed", "last", "records", "waiting")

    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, bytes | None]] = []
        self.confirmed: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        self.waiting = 0  # batches handed over and not acknowledged yet
        self.last: RecordMetadata | None = None

    def done(self, metadata: RecordMetadata) -> None:
        if self.last is None or metadata.offset > self.last.offset:
            self.last = metadata
        self.waiting -= 1
        if self.waiting == 0 and not self.confirmed.done():
            self.confirmed.set_result(self.last)

    def fail(self, error: BaseException) -> None:
        if not self.confirmed.done():
            self.confirmed.set_exception(error)

    def settle(self, retried: asyncio.Future[RecordMetadata]) -> None:
        """The outcome of a batch delivered again record by record."""
        if retried.cancelled():
            self.fail(asyncio.CancelledError())
        elif (error := retried.exception()) is not None:
            self.fail(error)
        else:
            self.done(retried.result())


def _copy_outcome(
    confirmed: asyncio.Future[RecordMetadata], done: asyncio.Future[RecordMetadata]
) -> None:
    if done.cancelled():
        confirmed.cancel()
    elif (error := done.exception()) is not None:
        confirmed.set_exception(error)
    else:
        confirmed.set_result(done.result())
