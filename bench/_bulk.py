"""The search engine's own bulk rate for the documents the storage agent writes, measured
raw: the records the whole worker put on the events and profiles topics, turned into
bulk actions by the same ``StorageStage`` in batches of ``stage_batch_messages``
messages (what the storage agent takes when it has a backlog), then, timed, only the
bulk requests of those batches (``BulkWriter``, same chunking) to a fresh index prefix,
until a refresh shows every event searchable.

Next to it, the storage stage alone on the same messages and batches
(:func:`stage_alone`): building each batch's documents and writing them, one batch after
the other (``handle``: build, then write) or writing behind (``write_behind``: the next
batch built while the last one's bulk is in flight), each to fresh indices, so the cost
of the storage path shows apart from the rest of the worker and the machine."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from typing import Any

from bench._measure import CpuSampler, service_pids
from headwater.adapters.search import connect_search
from headwater.adapters.search.writer import BulkWriter, plan_chunks
from headwater.agents.storage import StorageStage
from headwater.core.ports.search import BulkAction, SearchStore, bulk_body
from headwater.core.tenancy import events_alias
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage

__all__ = ["RawBulk", "StageAlone", "raw_bulk", "stage_alone", "stage_alone_both_ways"]


class _Recorder(BulkWriter):
    """Keeps what the stage would write, one list per handled batch; provisioning
    (templates, indices: ``retrying``) still goes to the engine."""

    def __init__(self, store: SearchStore, max_bytes: int = 5 * 1024 * 1024) -> None:
        super().__init__(store, max_bytes=max_bytes)
        self.batches: list[list[BulkAction]] = []
        self.recording = True  # False: writes for real

    async def write(self, actions: Any) -> list[tuple[BulkAction, str]]:
        if not self.recording:
            return await super().write(actions)
        self.batches.append(list(actions))
        return []


@dataclass
class RawBulk:
    events: int
    documents: int
    batches: int
    seconds: float
    cpu: dict[str, float]
    body_bytes: int  # of every bulk request's NDJSON body
    requests: int  # bulk requests, as the writer chunks them

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds

    @property
    def docs_per_s(self) -> float:
        return self.documents / self.seconds

    def per_event(self) -> str:
        """What each event costs the search engine: documents, body bytes, requests."""
        return (
            f"{self.documents / self.events:.2f} documents, "
            f"{self.body_bytes / self.events:,.0f} bulk bytes and "
            f"{self.requests / self.events:.4f} bulk requests per event"
        )

    def figures(self) -> dict[str, Any]:
        return {
            "events_per_s": round(self.events_per_s, 1),
            "docs_per_s": round(self.docs_per_s, 1),
            "documents": self.documents,
            "documents_per_event": round(self.documents / self.events, 3),
            "bulk_bytes_per_event": round(self.body_bytes / self.events),
            "bulk_requests": self.requests,
            "bulk_batches": self.batches,
            "seconds": round(self.seconds, 2),
            "cpu_cores": self.cpu,
        }


async def _nowhere(key: bytes | None, value: bytes) -> None:
    return None  # counted by DeadLetters; any dead letter ends the measurement


async def raw_bulk(
    settings: Settings, messages: list[SourceMessage], events: int, pids: dict[str, int]
) -> RawBulk:
    """``messages`` are the worker's outputs under ``settings.topic_prefix``; the
    documents go to ``settings.index_prefix``, which must be unused."""
    codec = AvroCodec.default()
    store = await connect_search(settings)
    try:
        recorder = _Recorder(store)
        dead = DeadLetters(codec, "bench", _nowhere)
        stage = StorageStage(settings, codec, store, recorder, dead)
        size = settings.stage_batch_messages
        for start in range(0, len(messages), size):
            await stage.handle(messages[start : start + size])
        if dead.count:
            sys.exit(f"bench: the storage stage refused {dead.count} of the worker's records")
        writer = BulkWriter(store, max_bytes=settings.storage_bulk_bytes)
        await writer.ensure_indices([a for batch in recorder.batches for a in batch])
        chunks = [
            chunk
            for batch in recorder.batches
            for chunk in plan_chunks(batch, writer.chunk, settings.storage_bulk_bytes)
        ]
        alias = events_alias(settings.index_prefix, settings.default_tenant, settings.env)
        with CpuSampler(pids) as cpu:
            started = time.time()
            for batch in recorder.batches:
                refused = await writer.write(batch)
                if refused:
                    sys.exit(f"bench: raw bulk: {len(refused)} refused, first: {refused[0][1]}")
            await store.refresh(alias)
            count = await store.count(alias)
            ended = time.time()
        if count != events:
            sys.exit(f"bench: raw bulk: {count} event documents searchable, not {events}")
        return RawBulk(
            events=events,
            documents=sum(len(batch) for batch in recorder.batches),
            batches=len(recorder.batches),
            seconds=ended - started,
            cpu=cpu.shares(started, ended),
            body_bytes=sum(len(bulk_body(chunk)) for chunk in chunks),
            requests=len(chunks),
        )
    finally:
        await store.close()


@dataclass
class StageAlone:
    events: int
    seconds: float
    cpu: dict[str, float]

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds


async def stage_alone(
    settings: Settings,
    messages: list[SourceMessage],
    events: int,
    pids: dict[str, int],
    *,
    behind: bool,
) -> StageAlone:
    """The storage stage on ``messages`` in batches of ``stage_batch_messages``, timed
    until a refresh counts ``events``: ``behind`` writes behind (``write_behind``), else
    each batch is built then written (``handle``). Templates and indices are made
    beforehand (a first pass records the documents), outside the window."""
    codec = AvroCodec.default()
    store = await connect_search(settings)
    try:
        writer = _Recorder(store, max_bytes=settings.storage_bulk_bytes)
        dead = DeadLetters(codec, "bench", _nowhere)
        stage = StorageStage(settings, codec, store, writer, dead)
        size = settings.stage_batch_messages
        batches = [messages[start : start + size] for start in range(0, len(messages), size)]
        for batch in batches:
            await stage.handle(batch)
        await writer.ensure_indices([a for batch in writer.batches for a in batch])
        writer.recording = False
        alias = events_alias(settings.index_prefix, settings.default_tenant, settings.env)
        with CpuSampler(pids) as cpu:
            started = time.time()
            if behind:
                writing = [await stage.write_behind(batch) for batch in batches]
                await asyncio.gather(*writing)
            else:
                for batch in batches:
                    await stage.handle(batch)
            await store.refresh(alias)
            count = await store.count(alias)
            ended = time.time()
        if dead.count or count != events:
            sys.exit(f"bench: storage stage alone: {count} of {events} events, {dead.count} dead")
        return StageAlone(events, ended - started, cpu.shares(started, ended))
    finally:
        await store.close()


async def stage_alone_both_ways(
    settings: Settings, messages: list[SourceMessage], events: int
) -> dict[str, list[StageAlone]]:
    """:func:`stage_alone` each way twice, in the order A B B A, so warming up or the
    machine's load drifting over the four windows favours neither; each pass to fresh
    indices under ``settings``' prefix."""
    alone: dict[str, list[StageAlone]] = {"build then write": [], "writing behind": []}
    for i, behind in enumerate((False, True, True, False)):
        name = "writing behind" if behind else "build then write"
        prefix = f"{settings.index_prefix}{'wb' if behind else 'bw'}{i}"
        target = settings.model_copy(update={"index_prefix": prefix})
        alone[name].append(
            await stage_alone(target, messages, events, service_pids(), behind=behind)
        )
    return alone
