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

    def __init__(self, settings: Settings, stage: str, *, linger_ms: int = 0) -> None:
        self._max_backoff = settings.stage_max_backoff
        self._stage = stage
        self._prefix = settings.topic_prefix
        self._records_out: dict[str, Any] = {}  # topic -> its counter
        # no linger: a stage queues a whole batch's records before it waits, so they
        # are already together; lingering would only add to each round of waiting.
        # (A bridge sends one record per message as they come: it lingers.)
        self.producer = AckedProducer(settings, linger_ms=linger_ms)

    async def __call__(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> asyncio.Future[RecordMetadata]:
        try:
            sent = await self.producer.enqueue(topic, value, key, partition)
        except BrokerUnavailable as exc:
            if (rejected := rejection(exc, topic)) is not None:
                log.error("%s output to %s refused for good: %s", self._stage, topic, rejected)
                failed: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
                failed.set_exception(rejected)
                return failed
            return asyncio.ensure_future(self._deliver(topic, key, value, partition))
        confirmed: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        sent.add_done_callback(partial(self._settle, confirmed, (topic, key, value, partition)))
        return confirmed

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

    def _sent(self, topic: str) -> None:
        """One record of this stage acknowledged (``headwater_stage_records_out_total``)."""
        counter = self._records_out.get(topic)
        if counter is None:
            counter = STAGE_RECORDS_OUT.labels(self._stage, logical_topic(self._prefix, topic))
            if len(self._records_out) < 64:  # a flow may publish to many topics
                self._records_out[topic] = counter
        counter.inc()


def _copy_outcome(
    confirmed: asyncio.Future[RecordMetadata], done: asyncio.Future[RecordMetadata]
) -> None:
    if done.cancelled():
        confirmed.cancel()
    elif (error := done.exception()) is not None:
        confirmed.set_exception(error)
    else:
        confirmed.set_result(done.result())
