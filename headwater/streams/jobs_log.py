"""The jobs topic: asking for a job, cancelling it, writing its progress, reading it back.

Every record of a job (its request, each progress, its end, its cancellation) goes to
the partition its id chooses (``core.jobs.job_partition``), so the one worker that owns
that partition in the jobs group sees all of them in order (``agents/jobs.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from headwater.core.jobs import Job, JobBook, job_partition, job_record
from headwater.errors import BrokerUnavailable, HeadwaterError, NotFound
from headwater.schemas import JOB_RECORD
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.kafka import AckedProducer, partitions_of
from headwater.streams.topic_reader import read_topic
from headwater.streams.topics import Topics

__all__ = ["JobsPublisher", "decode_job", "follow_job", "read_jobs"]


def decode_job(
    codec: AvroCodec, key: bytes | None, value: bytes | None
) -> tuple[str, dict[str, Any] | None]:
    if key is None:
        raise HeadwaterError("a jobs record without a key")
    return key.decode(), None if value is None else codec.decode(JOB_RECORD, value)


class JobsPublisher:
    """Writes job records through an acknowledged producer (acks=all)."""

    def __init__(self, settings: Settings, producer: AckedProducer, codec: AvroCodec) -> None:
        self._settings = settings
        self._topic = Topics(settings.topic_prefix).jobs
        self._producer = producer
        self._codec = codec
        self._partitions: int | None = None

    async def _partition(self, job_id: str) -> int:
        if self._partitions is None:
            found = await partitions_of(self._settings, self._topic)
            if not found:
                raise BrokerUnavailable(
                    f"no jobs topic {self._topic}: run `headwater migrate apply` (or init)"
                )
            self._partitions = len(found)
        return job_partition(job_id, self._partitions)

    async def publish(self, job: Job, *, cancel: bool = False) -> None:
        key, record = job_record(job, cancel=cancel)
        value = self._codec.encode(JOB_RECORD, record)
        await self._producer.send(self._topic, value, key, partition=await self._partition(job.id))


async def read_jobs(
    settings: Settings, codec: AvroCodec | None = None, *, timeout: float = 30.0
) -> JobBook:
    """Every job as the topic holds it now (read to the end offsets taken at the start)."""
    codec = codec or AvroCodec.default()
    topic = Topics(settings.topic_prefix).jobs
    book = JobBook()
    for key, value in await read_topic(
        settings, topic, lambda r: (r.key, r.value), timeout=timeout
    ):
        book.apply(*decode_job(codec, key, value))
    return book


async def follow_job(
    settings: Settings,
    job_id: str,
    seen: Callable[[Job], Awaitable[None] | None],
    *,
    every: float = 0.5,
    timeout: float | None = None,
) -> Job:
    """Read the job again every ``every`` seconds, telling ``seen`` each state, until
    it has ended; NotFound when there is no such job."""
    codec = AvroCodec.default()
    started = time.monotonic()
    while True:
        job = (await read_jobs(settings, codec)).get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        told = seen(job)
        if told is not None:
            await told
        if job.final:
            return job
        if timeout is not None and time.monotonic() - started > timeout:
            raise TimeoutError(f"job {job_id} still {job.state} after {timeout:.0f}s")
        await asyncio.sleep(every)
