"""``headwater worker --agents jobs``: runs the jobs asked for on the jobs topic.

Any number of workers join one consumer group on the jobs topic; Kafka gives each
partition to one of them, and every record of a job travels on the partition its id
chooses, so a job runs on one worker at a time. A worker that is given a partition
reads it from the beginning (the topic is compacted: one record per job and per
cancellation), and starts every job there that has not ended: a job asked for, or one
left ``running`` by a worker that died, which resumes from its last checkpoint. A
worker that loses a partition (it stops, or the group rebalances) stops that
partition's jobs first; their next owner resumes them the same way.

A worker cut off from the group without noticing (a long pause) may still write for a
job the group already gave to another: a job's runner must make each step safe to run
twice (migration steps and replays are; see docs/operations.md).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import socket
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from headwater.core.jobs import JOB_KINDS, Job, JobBook, JobKind, job_partition
from headwater.observability.metrics import JOB_PROGRESS
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.jobs_log import JobsPublisher, decode_job
from headwater.streams.kafka import AckedProducer, kafka_client_options, partitions_of
from headwater.streams.topics import Topics

__all__ = ["JobCancelled", "JobContext", "JobWorker", "Runner", "resolve_runner"]

log = logging.getLogger(__name__)

PROGRESS_EVERY = 1.0  # seconds between two progress records of one job

# What a kind runs: given the settings and the job's context, returns its summary.
Runner = Callable[[Settings, "JobContext"], Awaitable[dict[str, Any]]]


class JobCancelled(Exception):
    """Raised by ``JobContext.stop_if_cancelled`` when the job was asked to stop."""


def resolve_runner(kind: JobKind) -> Runner:
    module, _, name = kind.runner.partition(":")
    runner: Runner = getattr(importlib.import_module(module), name)
    return runner


class JobContext:
    """What a running job reports through and resumes from."""

    def __init__(self, job: Job, publisher: JobsPublisher, book: JobBook) -> None:
        self.job = job
        self._publisher = publisher
        self._book = book
        self._last = 0.0

    @property
    def checkpoint(self) -> dict[str, Any] | None:
        """Where the job stood when it last wrote a checkpoint (None: from the start)."""
        return self.job.checkpoint

    @property
    def cancelled(self) -> bool:
        seen = self._book.get(self.job.id)
        return seen is not None and seen.cancel_requested

    def stop_if_cancelled(self) -> None:
        if self.cancelled:
            raise JobCancelled(f"job {self.job.id} was cancelled")

    async def _write(self, job: Job) -> None:
        self.job = job
        self._last = time.monotonic()
        ratio = 1.0 if job.state == "done" else job.done / job.total if job.total else 0.0
        JOB_PROGRESS.labels(job.kind).set(ratio)
        await self._publisher.publish(job)

    async def progress(self, done: int, total: int, **counts: int) -> None:
        """Progress (written at most every PROGRESS_EVERY seconds)."""
        merged = {**self.job.counts, **counts}
        self.job = self.job.update(done=done, total=max(total, done), counts=merged)
        if time.monotonic() - self._last >= PROGRESS_EVERY:
            await self._write(self.job)

    async def save(self, checkpoint: dict[str, Any], **counts: int) -> None:
        """Record where to resume from (written at once, with the progress so far)."""
        merged = {**self.job.counts, **counts}
        await self._write(self.job.update(checkpoint=checkpoint, counts=merged))

    async def error(self, message: str) -> None:
        """A record the job could not take, with the reason: kept and counted."""
        await self._write(self.job.with_error(message))


class JobWorker:
    """Runs the jobs of the partitions this worker owns in the jobs group."""

    def __init__(
        self,
        settings: Settings,
        *,
        kinds: dict[str, JobKind] | None = None,
        name: str | None = None,
        codec: AvroCodec | None = None,
    ) -> None:
        self._settings = settings
        self._kinds = kinds or JOB_KINDS
        self._name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._codec = codec or AvroCodec.default()
        self._topic = Topics(settings.topic_prefix).jobs
        self._book = JobBook()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._ended: set[str] = set()  # ended here, though the end may not be read back yet
        self._catching: dict[TopicPartition, int | None] = {}  # partition -> end to reach
        self._owned: set[int] = set()
        self._partitions = 0
        self._producer = AckedProducer(settings)
        self._publisher = JobsPublisher(settings, self._producer, self._codec)

    @property
    def running(self) -> list[str]:
        return sorted(self._running)

    async def run(self) -> None:
        """Until cancelled."""
        while not (found := await partitions_of(self._settings, self._topic)):
            log.info("jobs topic %s does not exist yet; waiting", self._topic)
            await asyncio.sleep(5.0)
        self._partitions = len(found)
        await self._producer.start(wait=self._settings.config_wait)
        consumer = AIOKafkaConsumer(
            **kafka_client_options(self._settings),
            group_id=f"{self._settings.worker_id}-jobs",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=f"headwater-jobs-{self._name}",
        )
        await consumer.start()
        consumer.subscribe([self._topic], listener=_Listener(self, consumer))
        try:
            while True:
                fetched = await consumer.getmany(timeout_ms=500)
                for records in fetched.values():
                    for record in records:
                        self._book.apply(*decode_job(self._codec, record.key, record.value))
                await self._caught_up(consumer)
                self._start_owned()
        finally:
            await self._stop_jobs(list(self._running))
            await consumer.stop()
            await self._producer.stop()

    async def _caught_up(self, consumer: AIOKafkaConsumer) -> None:
        for partition, end in list(self._catching.items()):
            if end is None:
                end = (await consumer.end_offsets([partition]))[partition]
                self._catching[partition] = end
            if await consumer.position(partition) >= end:
                del self._catching[partition]
                self._owned.add(partition.partition)

    def _start_owned(self) -> None:
        for job in self._book.jobs():
            if job.final or job.id in self._running or job.id in self._ended:
                continue
            if job_partition(job.id, self._partitions) not in self._owned:
                continue
            self._running[job.id] = asyncio.create_task(self._run(job), name=f"job-{job.id}")

    async def _run(self, job: Job) -> None:
        kind = self._kinds.get(job.kind)
        context = JobContext(job, self._publisher, self._book)
        try:
            if job.cancel_requested:
                raise JobCancelled("cancelled before it started")
            if kind is None:
                raise LookupError(f"this worker knows no job kind {job.kind!r}")
            runner = resolve_runner(kind)
            resumed = "resumes" if job.checkpoint is not None else "starts"
            log.info("job %s (%s) %s on %s", job.id, job.kind, resumed, self._name)
            await context._write(
                job.update(state="running", attempts=job.attempts + 1, worker=self._name)
            )
            result = await runner(self._settings, context)
            await context._write(context.job.update(state="done", result=result))
            self._ended.add(job.id)
            log.info("job %s (%s) done: %s", job.id, job.kind, result)
        except asyncio.CancelledError:
            raise  # the partition went to another worker, or this one stops: it resumes
        except JobCancelled:
            await context._write(context.job.update(state="cancelled"))
            self._ended.add(job.id)
            log.info("job %s (%s) cancelled", job.id, job.kind)
        except Exception as exc:  # a job's failure is the job's, never the worker's
            log.error("job %s (%s) failed: %r", job.id, job.kind, exc, exc_info=True)
            reason = "".join(traceback.format_exception_only(exc)).strip()
            await context._write(context.job.with_error(reason).update(state="failed"))
            self._ended.add(job.id)
        finally:
            self._running.pop(job.id, None)

    async def _stop_jobs(self, job_ids: list[str]) -> None:
        tasks = [self._running[i] for i in job_ids if i in self._running]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def revoked(self, partitions: set[TopicPartition]) -> None:
        numbers = {p.partition for p in partitions}
        self._owned -= numbers
        for p in partitions:
            self._catching.pop(p, None)
        mine = [j for j in self._running if job_partition(j, self._partitions) in numbers]
        await self._stop_jobs(mine)

    async def assigned(self, consumer: AIOKafkaConsumer, partitions: set[TopicPartition]) -> None:
        if partitions:
            await consumer.seek_to_beginning(*partitions)
        for p in partitions:
            self._catching[p] = None


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: JobWorker, consumer: AIOKafkaConsumer) -> None:
        self._worker = worker
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._worker.revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._worker.assigned(self._consumer, set(assigned))
