"""Import throughput: imported events per second until searchable, next to replay's.

    python -m bench.import [--events 20000] [--profiles 500] [--engines standins|apache]

Starts what it needs on free ports (bench/_harness.py: the stand-ins, or with
``--engines apache`` Apache Kafka and OpenSearch, unless HEADWATER_KAFKA /
HEADWATER_SEARCH are set) and the whole worker. It writes N events of a set of profiles
as an NDJSON file of Headwater events (one event per line, as Headwater stores them,
gzip) and measures, on one topic and index prefix:

1. ``import, acked``: the import alone into Kafka (``run_import``, what ``headwater
   import`` runs): events acknowledged per second, from the import's start to its
   summary;
2. ``import, searchable``: the same import's events searchable through the worker
   (started and warmed up before, with one imported event searchable): N divided by
   the time from the import's start until the events alias counts them all;
3. ``replay``: ``headwater replay`` (``run_replay``) of the same intake log into the
   next index generation, the worker stopped: events applied per second, from its start
   to its report (it ends when the alias switch is done).

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import time
from contextlib import ExitStack
from pathlib import Path

import orjson

from bench._harness import Services, add_engines_option, print_json, run_with_services
from headwater.adapters.search import connect_search
from headwater.agents.replay import ReplayPlan, run_replay
from headwater.commands.imports import (
    FileCheckpoints,
    FileSpec,
    ImportOptions,
    ImportSummary,
    run_import,
)
from headwater.core.tenancy import events_alias
from headwater.errors import SearchUnavailable
from headwater.settings import Settings


def write_events(path: Path, events: int, profiles: int, start: int = 0) -> None:
    with gzip.open(path, "wb", compresslevel=1) as out:
        for n in range(start, start + events):
            event = {
                "type": "page-view" if n % 5 else "purchase",
                "profile": {"id": f"bench-{n % profiles}"},
                "session": {"id": f"bench-s-{n % (profiles * 3)}"},
                "time": {"create": 1_793_491_200_000 + n * 1000},  # 2026-11-01, a second apart
                "properties": {"n": n, "url": f"https://shop.example/p/{n % 97}"},
                "context": {"page": {"title": "Product"}, "browser": {"name": "Firefox"}},
            }
            out.write(orjson.dumps(event) + b"\n")


async def imported(settings: Settings, services: Services, path: Path) -> ImportSummary:
    state = services.logs / "imports"
    return await run_import(
        settings,
        FileSpec(path, "headwater"),
        ImportOptions(source_id=services.init.sources[settings.env]),
        checkpoints=FileCheckpoints(state),
        rejects_dir=state,
    )


async def searchable(settings: Settings, count: int, timeout: float) -> float:
    """Wait until the events alias counts ``count``; the monotonic time it did."""
    store = await connect_search(settings)
    alias = events_alias(settings.index_prefix, settings.default_tenant, settings.env)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                await store.refresh(alias)
                if await store.count(alias) >= count:
                    return time.monotonic()
            except SearchUnavailable:
                pass  # the alias comes with the first document
            await asyncio.sleep(0.2)
    finally:
        await store.close()
    raise SystemExit(f"bench: fewer than {count} events searchable after {timeout:.0f} s")


def line(name: str, events: int, seconds: float, engines: str) -> None:
    print(
        f"{name:<22} {events / seconds:>9,.0f} events/s  ({events} in {seconds:.2f} s)"
        f"  [{engines}]",
        flush=True,
    )


async def run(stack: ExitStack, services: Services, events: int, profiles: int) -> None:
    settings = services.settings
    label = services.label
    print(services.describe(), flush=True)
    warm = services.logs / "warm.ndjson.gz"
    write_events(warm, 1, 1, start=10**9)
    path = services.logs / "events.ndjson.gz"
    write_events(path, events, profiles)

    worker = services.start_worker()
    await imported(settings, services, warm)
    await searchable(settings, 1, 180)  # the worker is up and has written once

    started = time.monotonic()
    summary = await imported(settings, services, path)
    acked = time.monotonic() - started
    assert summary.imported == events and summary.rejected == 0, summary
    done = await searchable(settings, events + 1, 60 + events / 50)
    to_search = done - started
    line("import, acked", events, acked, label)
    line("import, searchable", events, to_search, label)
    worker.stop()

    started = time.monotonic()
    # the worker is stopped: the search rebuild alone (no live table to switch)
    report = await run_replay(settings, ReplayPlan(follow_seconds=0, state=False))
    replayed = time.monotonic() - started
    line("replay", report.events, replayed, label)

    print_json(
        {
            "benchmark": "import",
            "engines": services.figures(),
            "events": events,
            "profiles": profiles,
            "import_acked_per_s": round(events / acked, 1),
            "import_searchable_per_s": round(events / to_search, 1),
            "replay_events": report.events,
            "replay_per_s": round(report.events / replayed, 1),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--profiles", type=int, default=500)
    add_engines_option(parser)
    args = parser.parse_args()
    run_with_services(
        args.engines, lambda stack, services: run(stack, services, args.events, args.profiles)
    )


if __name__ == "__main__":
    main()
