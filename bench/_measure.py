"""Measuring pieces of bench/pipeline.py: reading topics back, watching a flow of
records until a target, and sampling the CPU each process uses."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from headwater.commands.embedded import ManagedProcess
from headwater.core.records import ProcessedBatch, processed_messages
from headwater.schemas import INTAKE_BATCH, PROCESSED_BATCH
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import SourceMessage
from headwater.streams.kafka import kafka_client_options

POLL = 0.2  # seconds between CPU samples and search counts


def _consumer(settings: Settings, *topics: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        **kafka_client_options(settings),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        client_id="headwater-bench",
    )


async def raw_read(settings: Settings, topic: str, messages: int) -> tuple[float, int]:
    """Read the topic from the beginning with getmany, decoding every message.
    Returns (seconds from the consumer being started to the last message, events)."""
    codec = AvroCodec.default()
    consumer = _consumer(settings, topic)
    await consumer.start()
    try:
        started = time.perf_counter()
        seen = events = 0
        while seen < messages:
            if time.perf_counter() - started > 60:
                sys.exit(f"bench: raw read saw {seen} of {messages} messages in 60 s")
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batches.values():
                for record in records:
                    events += len(codec.decode(INTAKE_BATCH, record.value)["events"])
                seen += len(records)
        return time.perf_counter() - started, events
    finally:
        await consumer.stop()


async def read_back(settings: Settings, topics: list[str], records: int) -> list[SourceMessage]:
    """The first ``records`` records of ``topics``, from the beginning, as a stage gets them."""
    consumer = _consumer(settings, *topics)
    await consumer.start()
    read: list[SourceMessage] = []
    started = time.monotonic()
    try:
        while len(read) < records:
            if time.monotonic() - started > 60:
                sys.exit(f"bench: read {len(read)} of {records} records back in 60 s")
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for rows in batches.values():
                read += [
                    SourceMessage(r.topic, r.partition, r.offset, r.key, r.value) for r in rows
                ]
        return read
    finally:
        await consumer.stop()


@dataclass
class Flow:
    """What a watcher saw on some topics: a weighted count and the record timestamps of
    the first and last record that counted."""

    count: int = 0
    records: int = 0
    first_ts: float | None = None  # record timestamps (producer create time), seconds
    last_ts: float | None = None
    sessions: int = 0  # session updates in processed batches (search writes)
    snapshots: int = 0  # profile snapshots (search writes)

    def add(self, record: ConsumerRecord[Any, Any], weight: int) -> None:
        self.records += 1
        if weight:
            self.count += weight
            ts = record.timestamp / 1000
            self.first_ts = ts if self.first_ts is None else min(self.first_ts, ts)
            self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)

    @property
    def seconds(self) -> float:
        assert self.first_ts is not None and self.last_ts is not None
        return self.last_ts - self.first_ts


Weigh = Callable[[ConsumerRecord[Any, Any], Flow], int]


async def watch(
    settings: Settings,
    topics: list[str],
    weigh: Weigh,
    done: Callable[[Flow], bool],
    process: ManagedProcess,
    timeout: float,
) -> Flow:
    """Follow topics from the beginning until ``done``; fail if the process dies."""
    flow = Flow()
    consumer = _consumer(settings, *topics)
    await consumer.start()
    deadline = time.monotonic() + timeout
    try:
        while not done(flow):
            if not process.running:
                sys.exit(f"bench: {process.name} exited; see {process.log_path}")
            if time.monotonic() > deadline:
                sys.exit(f"bench: {process.name}: only {flow.count} after {timeout:.0f} s")
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batches.values():
                for record in records:
                    flow.add(record, weigh(record, flow))
        return flow
    finally:
        await consumer.stop()


def processed_events(codec: AvroCodec, events_topic: str) -> Weigh:
    """Weight of a record: the events applied in a ProcessedBatch; counts search writes."""

    def weigh(record: ConsumerRecord[Any, Any], flow: Flow) -> int:
        if record.topic != events_topic:
            flow.snapshots += 1
            return 0
        processed = cast(ProcessedBatch, codec.decode(PROCESSED_BATCH, record.value))
        flow.sessions += len(processed["sessions"])
        return sum(len(m["events"]) for m in processed_messages(processed))

    return weigh


class CpuSampler:
    """CPU seconds of some processes, and of the whole machine less them ("other": what
    else ran on the machine meanwhile), sampled every POLL seconds from /proc."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = {**pids, "bench": os.getpid()}
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._tick = os.sysconf("SC_CLK_TCK")
        self._task: asyncio.Task[None] | None = None

    def _cpu(self, pid: int) -> float:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return float("nan")
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self._tick  # utime + stime

    def _machine(self) -> float:
        # cpu user nice system idle iowait irq softirq steal ...: all but idle and iowait
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return (sum(ticks) - ticks[3] - ticks[4]) / self._tick

    def sample(self) -> None:
        cpu = {n: self._cpu(p) for n, p in self.pids.items()}
        cpu["other"] = self._machine() - sum(cpu.values())
        self.samples.append((time.time(), cpu))

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(POLL)

    def __enter__(self) -> CpuSampler:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.sample()

    def shares(self, t0: float, t1: float) -> dict[str, float]:
        """Cores used by each process between the samples around t0 and t1."""
        before = [s for s in self.samples if s[0] <= t0] or self.samples[:1]
        after = [s for s in self.samples if s[0] >= t1] or self.samples[-1:]
        (w0, c0), (w1, c1) = before[-1], after[0]
        if w1 <= w0:
            return {}
        return {name: round(max(0.0, c1[name] - c0[name]) / (w1 - w0), 2) for name in c0}


def service_pids() -> dict[str, int]:
    """Our own child processes that are the broker and search server (stand-ins or
    Apache); engines given by HEADWATER_KAFKA / HEADWATER_SEARCH count as "other"."""
    found: dict[str, int] = {}
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) != me:
            continue
        if b"--storage-engine" in cmdline or b"kafka.Kafka" in cmdline:
            found["broker"] = int(entry.name)
        elif b"osmem" in cmdline or b"HeadwaterSearchNode" in cmdline:
            found["search"] = int(entry.name)
    return found


def _tree_stats(pid: int) -> list[list[str]]:
    """The /proc stat fields (after the command name: state, ppid, ...) of ``pid`` and its
    living descendants (uvicorn's worker processes under ``--workers N``)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        stats[int(entry.name)] = fields
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            found.append(stats[current])
        todo += children.get(current, [])
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its living descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    return sum((int(f[11]) + int(f[12])) / tick for f in _tree_stats(pid))


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its living descendants (what VmRSS shows)."""
    page = os.sysconf("SC_PAGE_SIZE")
    return sum(int(f[21]) * page for f in _tree_stats(pid))


def cpu_text(shares: dict[str, float]) -> str:
    return ", ".join(f"{name} {share * 100:.0f}%" for name, share in shares.items())


# --- processes ------------------------------------------------------------------------


async def indexed_documents(search: str | None, indices: list[str]) -> int:
    """Documents the search engine indexed into ``indices`` (aliases), by its own counter
    (``_stats/indexing``, primaries): an overwrite of a session or profile counts, a
    version the storage stage dropped before writing (``latest_versions``) does not."""
    if not search:
        raise SystemExit("bench: no search engine address to read its indexing stats from")
    url = search.split(",")[0].rstrip("/")
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.get(f"{url}/{','.join(indices)}/_stats/indexing")
        answer.raise_for_status()
        return int(answer.json()["_all"]["primaries"]["indexing"]["index_total"])


def verdict(cpu: dict[str, float], stage: float, docs_per_s: float, search: str) -> str:
    """Which process limited events-until-searchable, from its CPU use over the window."""
    if not cpu:
        return "unknown (no CPU samples)"
    ours = [name for name in ("worker", "search", "broker") if name in cpu]
    busiest = max(ours, key=lambda name: cpu[name])
    if busiest == "search":
        return (
            f"the search engine ({search} at {cpu['search']:.2f} cores, ~{docs_per_s:,.0f} "
            f"docs/s of bulk writes) while the profile stage in the same worker ran ahead at "
            f"{stage:,.0f} events/s"
        )
    if busiest == "worker":
        return (
            f"the worker process ({cpu['worker']:.2f} cores: profile and storage agents "
            f"share one Python thread); search used {cpu.get('search', 0):.2f} cores"
        )
    return f"{busiest} ({cpu[busiest]:.2f} cores)"
