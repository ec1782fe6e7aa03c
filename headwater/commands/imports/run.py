"""``headwater import`` as a library call: :func:`run_import`.

Records are read from the source (files.py, tracardi_source.py), made into intake
batches by the collector's builders (core/imports.py, core/tracardi.py) and sent through
the bridges' :class:`~headwater.bridges.pipeline.Intake` (the same encoding and retrying
sender). At most ``window`` records wait for Kafka; they settle in the order they were
read, and the checkpoint names the last settled record, saved only after Kafka
acknowledged it and every record before it (at least once a second and at the end). A
kill therefore loses nothing: the resumed import sends again what came after the
checkpoint, as the very same records (derived ids), which the profile agent and the
search index drop as repeats.

A record that cannot become events (bad JSON, a schema violation, over a limit, one
Kafka refuses for good) is written to the reject file with where it was and why, and
counted; nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from headwater.bridges.pipeline import Intake
from headwater.commands.imports.checkpoints import Checkpoint, CheckpointStore
from headwater.commands.imports.files import FileReader, FileSpec, Item
from headwater.commands.imports.rejects import RejectFile, first_rejects
from headwater.commands.imports.tracardi_source import TracardiReader, TracardiSpec
from headwater.core.imports import CsvMapping, ImportTarget, import_id_for
from headwater.core.intake import IntakeLimits
from headwater.core.sources import EventSource
from headwater.errors import (
    ConfigurationError,
    InputError,
    NotReady,
    RecordRejected,
    UnknownSource,
)
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigLog
from headwater.streams.sender import RetryingSender
from headwater.streams.topics import Topics

__all__ = [
    "ImportOptions",
    "ImportSpec",
    "ImportSummary",
    "Progress",
    "resolve_source",
    "run_import",
    "spec_from_dict",
    "spec_to_dict",
]

log = logging.getLogger(__name__)

ImportSpec = FileSpec | TracardiSpec
SUMMARY_REJECTS = 1000  # rejects listed in the summary; the reject file has them all


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How to import. ``source_id``: the configured event source the records are
    recorded under (its tenant and environment are theirs). ``flows``: run rules and
    flows (and so side effects) for the imported events; off by default.
    ``max_events_per_second``: a cap, so live collection keeps its share of the brokers
    and workers. ``restart``: ignore the checkpoint and send everything again."""

    source_id: str
    env: str | None = None  # default: settings.env
    flows: bool = False
    max_events_per_second: float | None = None
    restart: bool = False
    rejects: Path | None = None  # the reject file (default: in run_import's rejects_dir)
    window: int = 5000  # records waiting for Kafka at most
    checkpoint_seconds: float = 1.0


@dataclass
class ImportSummary:
    """``read``, ``imported`` (records Kafka took), ``events`` (in them) and ``rejected``
    count the whole import, every run of it; ``skipped`` counts the records this run
    passed over because an earlier run had already imported (or rejected) them."""

    import_id: str
    source: dict[str, Any]
    read: int = 0
    imported: int = 0
    events: int = 0
    rejected: int = 0
    skipped: int = 0
    complete: bool = False
    cancelled: bool = False
    seconds: float = 0.0
    rejects_file: str | None = None
    rejects: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# called with the summary as it stands (at every checkpoint and at the end)
Progress = Callable[[ImportSummary], None]


class _Reader(Protocol):
    kind: str

    async def identity(self) -> str: ...

    def items(self, cursor: dict[str, Any] | None) -> Any: ...  # AsyncIterator[Item]


@dataclass(slots=True)
class _Pending:
    item: Item
    acks: list[asyncio.Future[Any]]
    events: int
    rejected: str | None = None  # why it could not become events


def spec_to_dict(spec: ImportSpec) -> dict[str, Any]:
    """``spec`` as JSON-ready data (for a job record); never a password."""
    if isinstance(spec, FileSpec):
        mapping = spec.mapping.model_dump() if spec.mapping else None
        return {"kind": "file", "path": str(spec.path), "format": spec.format, "mapping": mapping}
    return {
        "kind": "tracardi",
        "url": spec.url,
        "index_prefix": spec.index_prefix,
        "since": spec.since.isoformat() if spec.since else None,
        "until": spec.until.isoformat() if spec.until else None,
        "username": spec.username,
    }


def spec_from_dict(data: dict[str, Any], *, password: str | None = None) -> ImportSpec:
    """The spec :func:`spec_to_dict` made (a Tracardi ``password`` comes separately)."""
    if data["kind"] == "file":
        mapping = CsvMapping.model_validate(data["mapping"]) if data.get("mapping") else None
        return FileSpec(Path(data["path"]), data["format"], mapping)
    since, until = data.get("since"), data.get("until")
    return TracardiSpec(
        url=data["url"],
        index_prefix=data.get("index_prefix") or "",
        since=datetime.fromisoformat(since) if since else None,
        until=datetime.fromisoformat(until) if until else None,
        username=data.get("username"),
        password=password,
    )


def _reader(spec: ImportSpec, settings: Settings) -> _Reader:
    if isinstance(spec, FileSpec):
        return FileReader(spec, settings.max_request_bytes)
    return TracardiReader(spec, settings)


async def resolve_source(settings: Settings, source_id: str, env: str | None) -> EventSource:
    """The configured event source imported records are recorded under."""
    config = ConfigLog(settings, AvroCodec.default())
    await config.start(wait=settings.config_wait)
    try:
        source = config.source(source_id, env or settings.env)
        loaded = config.caught_up
    finally:
        await config.stop()
    if source is None and not loaded:
        raise NotReady("the configuration (hw.config) did not load in time; try again")
    if source is None:
        raise UnknownSource(f"unknown event source {source_id} in {env or settings.env}")
    if not source.enabled:
        raise ConfigurationError(f"event source {source_id} is disabled")
    return source


class _Throttle:
    """At most ``rate`` events a second, on average since the start."""

    def __init__(
        self,
        rate: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._rate = rate
        self._clock = clock
        self._sleep = sleep
        self._start = clock()
        self._events = 0

    async def take(self, events: int) -> None:
        if not self._rate:
            return
        self._events += events
        ahead = self._start + self._events / self._rate - self._clock()
        if ahead > 0:
            await self._sleep(ahead)


async def run_import(
    settings: Settings,
    spec: ImportSpec,
    options: ImportOptions,
    *,
    checkpoints: CheckpointStore,
    rejects_dir: Path,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    source: EventSource | None = None,
) -> ImportSummary:
    """Import ``spec`` into the intake topic; resumes from ``checkpoints`` unless
    ``options.restart``. The reject file (kept in step with the checkpoint) is
    ``options.rejects`` or ``<rejects_dir>/<import id>.rejects.ndjson``. ``cancelled``
    is asked before each record: when it says so, what was sent is settled, the
    checkpoint saved, and the summary says ``cancelled``. ``source``: the resolved event
    source (default: looked up by ``options``)."""
    started = time.monotonic()
    reader = _reader(spec, settings)
    source = source or await resolve_source(settings, options.source_id, options.env)
    import_id = import_id_for(source, reader.kind, await reader.identity())
    rejects = options.rejects or rejects_dir / f"{import_id}.rejects.ndjson"
    checkpoint = None if options.restart else await checkpoints.load(import_id)
    if checkpoint is None:
        checkpoint = Checkpoint(import_id, received_at=time.time_ns() // 1_000_000)
    checkpoint.describe = {**spec.describe(), "source_id": source.id, "env": source.env}
    summary = ImportSummary(
        import_id,
        checkpoint.describe,
        read=checkpoint.read,
        imported=checkpoint.imported,
        events=checkpoint.events,
        rejected=checkpoint.rejected,
        skipped=checkpoint.read,
        rejects_file=str(rejects),
    )
    target = ImportTarget(
        source,
        IntakeLimits(settings.max_event_bytes, settings.max_request_bytes),
        import_id,
        checkpoint.received_at,
        options.flows,
    )
    reject_file = RejectFile(rejects, checkpoint.rejects_bytes)
    sender = RetryingSender(settings, "import", linger_ms=settings.producer_linger_ms)
    topics = Topics(settings.topic_prefix)
    intake = Intake(sender, AvroCodec.default(), topics.intake, topics.deadletter, "import", 0)
    await sender.producer.start(wait=5.0)
    run = _Run(checkpoint, summary, reject_file, checkpoints, progress, options)
    try:
        if not checkpoint.done:
            await run.send_all(reader, intake, target, cancelled or (lambda: False))
    finally:
        await sender.producer.stop()
        reject_file.close()
    summary.complete = checkpoint.done
    summary.seconds = round(time.monotonic() - started, 3)
    summary.rejects = first_rejects(rejects, SUMMARY_REJECTS) if summary.rejected else []
    if progress is not None:
        progress(summary)
    return summary


class _Run:
    def __init__(
        self,
        checkpoint: Checkpoint,
        summary: ImportSummary,
        rejects: RejectFile,
        store: CheckpointStore,
        progress: Progress | None,
        options: ImportOptions,
    ) -> None:
        self.checkpoint = checkpoint
        self.summary = summary
        self.rejects = rejects
        self.store = store
        self.progress = progress
        self.options = options
        self.pending: deque[_Pending] = deque()
        self.last_save = time.monotonic()

    async def send_all(
        self,
        reader: _Reader,
        intake: Intake,
        target: ImportTarget,
        cancelled: Callable[[], bool],
    ) -> None:
        throttle = _Throttle(self.options.max_events_per_second)
        async for item in reader.items(self.checkpoint.cursor):
            if cancelled():
                self.summary.cancelled = True
                break
            self.pending.append(await self._send(item, intake, target, throttle))
            await self._settle(full=len(self.pending) >= self.options.window)
        while self.pending:
            await self._settle(full=True)
        self.checkpoint.done = not self.summary.cancelled
        await self._save()

    async def _send(
        self, item: Item, intake: Intake, target: ImportTarget, throttle: _Throttle
    ) -> _Pending:
        try:
            batches = item.build(target)
        except InputError as exc:
            return _Pending(item, [], 0, str(exc))
        events = sum(len(b.record["events"]) for b in batches)
        await throttle.take(events)
        return _Pending(item, [await intake.send(b) for b in batches], events)

    async def _settle(self, *, full: bool) -> None:
        """Settle the oldest records whose acknowledgements are in (when ``full``, wait
        for the oldest first); save the checkpoint when it is time."""
        settled = False
        while self.pending and (full or all(a.done() for a in self.pending[0].acks)):
            full = False
            await self._settle_one(self.pending.popleft())
            settled = True
        if settled and time.monotonic() - self.last_save >= self.options.checkpoint_seconds:
            await self._save()

    async def _settle_one(self, entry: _Pending) -> None:
        reason = entry.rejected
        for ack in entry.acks:
            try:
                await ack
            except RecordRejected as exc:
                reason = f"refused by Kafka: {exc}"
        checkpoint = self.checkpoint
        checkpoint.read += 1
        if reason is not None:
            checkpoint.rejected += 1
            self.rejects.add(entry.item.where, reason, entry.item.text)
        else:
            checkpoint.imported += 1
            checkpoint.events += entry.events
        checkpoint.cursor = entry.item.cursor

    async def _save(self) -> None:
        checkpoint = self.checkpoint
        checkpoint.rejects_bytes = self.rejects.flush()
        await self.store.save(checkpoint)
        self.last_save = time.monotonic()
        summary = self.summary
        summary.read, summary.imported = checkpoint.read, checkpoint.imported
        summary.events, summary.rejected = checkpoint.events, checkpoint.rejected
        if self.progress is not None:
            self.progress(summary)
