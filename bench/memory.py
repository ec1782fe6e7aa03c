"""Worker memory with many profiles in its table, and how long it takes to recover them.

    python -m bench.memory [--profiles 1000000] [--events-per-profile 5]
                           [--stores rocksdb,memory] [--engines standins|apache]

For each store (``HEADWATER_WORKER_STORE``) and for an empty table and a full one, on a
fresh topic prefix: the profile table's changelog is filled with ``--profiles`` profile
states (each the state the profile stage itself folded from ``--events-per-profile``
events of the pipeline benchmark's workload, ~2 KB browser context included), then a
worker with an empty state directory starts (``--agents profile``), recovers the table
from the changelog, and folds one more event; its answer on the events topic is taken as
"ready". It prints the time from start to ready and the worker's resident memory
(VmRSS, its process tree) then, and the difference between the full and the empty
table per profile. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer

from bench._harness import Services, add_engines_option, print_json, run_with_services
from bench._measure import tree_rss_bytes
from bench._workload import intake_messages, produce
from bench.pipeline import fresh
from headwater.agents.profile import ProfileStage
from headwater.commands.embedded import ManagedProcess, start_process
from headwater.commands.init import run_init
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.kafka import ensure_topics, kafka_client_options
from headwater.streams.table_state import MemoryState
from headwater.streams.topics import Topics, TopicSpec

READY_TIMEOUT = 1800.0  # seconds a worker may take to recover and answer
FILL_CHUNK = 20_000  # changelog records produced before waiting for their acks


@dataclass
class Measured:
    store: str
    profiles: int
    ready_s: float
    rss_bytes: int

    def figures(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "profiles": self.profiles,
            "ready_seconds": round(self.ready_s, 1),
            "rss_mib": round(self.rss_bytes / 2**20, 1),
        }


async def profile_state(settings: Settings, events: int) -> tuple[str, bytes]:
    """(profile id, state) of one profile, folded by the profile stage itself."""
    codec = AvroCodec.default()
    topic = Topics(settings.topic_prefix).intake
    messages = intake_messages(settings, "bench-src", events, 1, 1)
    table = MemoryState()

    async def send(topic: str, key: bytes, value: bytes) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def nowhere(key: bytes | None, value: bytes) -> None:
        sys.exit("bench: the profile stage dead-lettered a workload message")

    stage = ProfileStage(settings, codec, table, send, DeadLetters(codec, "bench", nowhere))
    await stage.handle(
        [SourceMessage(topic, 0, n, key, value) for n, (key, value) in enumerate(messages)]
    )
    ((key, state),) = table.data.items()
    return key.decode().rsplit(":", 1)[1], state


async def fill_changelog(settings: Settings, worker_id: str, profiles: int, events: int) -> float:
    """``profiles`` states on the worker's profile-table changelog; returns seconds."""
    topic = f"{worker_id}-profiles-changelog"
    await ensure_topics(
        settings, [TopicSpec(topic, settings.partitions, {"cleanup.policy": "compact"})]
    )
    if not profiles:
        return 0.0
    profile_id, state = await profile_state(settings, events)
    print(f"  one profile's state: {len(state):,} bytes", flush=True)
    quoted = f'"{profile_id}"'.encode()
    prefix = f"{settings.default_tenant}:{settings.env}:"
    started = time.perf_counter()
    for first in range(0, profiles, FILL_CHUNK):  # a bounded backlog for the broker
        records = []
        for n in range(first, min(first + FILL_CHUNK, profiles)):
            other = f"m{n:09d}"
            value = state.replace(quoted, f'"{other}"'.encode())
            records.append(((prefix + other).encode(), value))
        await produce(settings, topic, records)
    return time.perf_counter() - started


async def first_answer(settings: Settings, worker: ManagedProcess, timeout: float) -> None:
    """Wait for the first record on the events topic (the canary's processed batch)."""
    consumer = AIOKafkaConsumer(
        Topics(settings.topic_prefix).events,
        auto_offset_reset="earliest",
        **kafka_client_options(settings),
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if worker.popen.poll() is not None:
                sys.exit(f"bench: the worker exited ({worker.popen.returncode}); see its log")
            if any((await consumer.getmany(timeout_ms=500)).values()):
                return
        sys.exit(f"bench: the worker did not answer within {timeout:.0f} s")
    finally:
        await consumer.stop()


async def measure(services: Services, store: str, profiles: int, events: int) -> Measured:
    run = secrets.token_hex(3)
    settings = fresh(services.settings, run, f"m{store[0]}{'f' if profiles else 'e'}")
    await run_init(settings)
    worker_id = f"{settings.topic_prefix}-worker"
    filled = await fill_changelog(settings, worker_id, profiles, events)
    if profiles:
        print(f"  changelog: {profiles:,} profile states in {filled:.1f} s", flush=True)
    with ExitStack() as own:
        started = time.monotonic()
        env = services.env(
            HEADWATER_TOPIC_PREFIX=settings.topic_prefix,
            HEADWATER_INDEX_PREFIX=settings.index_prefix,
            HEADWATER_WORKER_ID=worker_id,
            HEADWATER_WORKER_STORE=store,
            HEADWATER_WORKER_METRICS_PORT="0",  # other workers may hold the default port
            HEADWATER_DATA_DIR=str(services.logs / settings.topic_prefix),  # empty state
        )
        command = [sys.executable, "-m", "headwater", "worker", "--agents", "profile"]
        log = services.logs / f"{settings.topic_prefix}-worker.log"
        worker = start_process(f"worker-{store}", command, log_path=log, env=env)
        own.callback(worker.stop)
        canary = intake_messages(settings, "bench-src", 1, 1, 1)
        await produce(settings, Topics(settings.topic_prefix).intake, canary)
        await first_answer(settings, worker, READY_TIMEOUT)
        ready = time.monotonic() - started
        rss = tree_rss_bytes(worker.popen.pid)
    return Measured(store, profiles, ready, rss)


async def run(args: argparse.Namespace, stack: ExitStack, services: Services) -> None:
    print(services.describe(), flush=True)
    results: list[Measured] = []
    for store in args.stores.split(","):
        for profiles in (0, args.profiles):
            measured = await measure(services, store, profiles, args.events_per_profile)
            results.append(measured)
            print(
                f"{store:8} {profiles:>10,} profiles: ready in {measured.ready_s:6.1f} s, "
                f"worker RSS {measured.rss_bytes / 2**20:8.1f} MiB  [{services.label}]",
                flush=True,
            )
        empty, full = results[-2], results[-1]
        per_profile = (full.rss_bytes - empty.rss_bytes) / max(args.profiles, 1)
        print(f"{store:8} {per_profile:,.0f} bytes of RSS per profile", flush=True)
    print_json(
        {
            "benchmark": "memory",
            "engines": services.figures(),
            "events_per_profile": args.events_per_profile,
            "runs": [m.figures() for m in results],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--events-per-profile", type=int, default=5)
    parser.add_argument("--stores", default="rocksdb,memory", help="comma-separated")
    add_engines_option(parser)
    args = parser.parse_args()
    if args.profiles < 1 or args.events_per_profile < 1:
        parser.error("--profiles and --events-per-profile must be positive")
    if not set(args.stores.split(",")) <= {"rocksdb", "memory"}:
        parser.error("--stores takes rocksdb and/or memory")
    run_with_services(args.engines, lambda stack, services: run(args, stack, services))


if __name__ == "__main__":
    main()
