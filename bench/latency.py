"""Latency under a steady load: from the collector's 200 to the event being searchable,
and to its profile showing it.

    python -m bench.latency [--seconds 60] [--load 0.5] [--rate N] [--engines standins|apache]

Starts the engines (as bench/collector.py does), a collector and a whole worker. It
measures the collector's capacity for 1-event ``/track`` requests with wrk (5 s, 32
connections) unless ``--rate`` gives the rate, then sends requests at ``--load`` of that
capacity, evenly spaced (an open loop: a slow answer does not slow the sending), for
``--seconds``. Every request carries the ~2 KB browser context of bench/collector.py and
its own new profile. One request in ``--sample`` names its event id and profile id and is
followed: the time from its 200 to the event being found in the events index, and to
its profile's document being found in the profiles index (each index polled every
0.25 s, with the engine's own refresh: nothing is refreshed by the benchmark, so the
figures include the search engine's refresh interval). Prints p50, p99 and max of both,
the collector's answer times, and one JSON line. Events not searchable 60 s after the
sending ends are counted, not waited for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp

from bench._harness import (
    Served,
    Services,
    add_engines_option,
    print_json,
    require_wrk,
    run_wrk,
)
from bench.collector import SAMPLE, track_body
from headwater.adapters.search import connect_search
from headwater.commands.embedded import ManagedProcess
from headwater.core.ports.search import SearchStore
from headwater.core.tenancy import events_alias, profiles_alias
from headwater.errors import SearchUnavailable

POLL = 0.25  # seconds between searches for the followed events and profiles
DRAIN = 60.0  # seconds to wait after the sending for followed events to show


class Followed:
    """When each followed event was answered, and when it showed in each index."""

    def __init__(self) -> None:
        self.answered: dict[str, float] = {}  # event id -> time of the 200
        self.profile_of: dict[str, str] = {}  # event id -> profile id
        self.searchable: dict[str, float] = {}
        self.in_profile: dict[str, float] = {}

    def pending(self, seen: dict[str, float]) -> list[str]:
        return [event for event in self.answered if event not in seen]

    @staticmethod
    def delays(answered: dict[str, float], seen: dict[str, float]) -> list[float]:
        return sorted(seen[event] - answered[event] for event in seen)


async def _found(store: SearchStore, index: str, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        answer = await store.search(index, query={"terms": {"id": chunk}}, size=len(chunk))
        found |= {hit["_source"]["id"] for hit in answer["hits"]["hits"]}
    return found


async def poll(store: SearchStore, events: str, profiles: str, followed: Followed) -> None:
    while True:
        try:
            waiting = followed.pending(followed.searchable)
            now = time.monotonic()
            for event in await _found(store, events, waiting):
                followed.searchable[event] = now
            waiting = followed.pending(followed.in_profile)
            by_profile = {followed.profile_of[e]: e for e in waiting}
            now = time.monotonic()
            for profile in await _found(store, profiles, list(by_profile)):
                followed.in_profile[by_profile[profile]] = now
        except SearchUnavailable as exc:
            print(f"bench: search poll failed ({exc}); polling again", file=sys.stderr)
        await asyncio.sleep(POLL)


def body(source_id: str, context: dict[str, Any], event_id: str, profile_id: str) -> bytes:
    return json.dumps(
        {
            "source": {"id": source_id},
            "profile": {"id": profile_id},
            "context": context,
            "events": [{"id": event_id, "type": "page-view", "properties": {"n": 1}}],
        }
    ).encode()


async def drive(
    url: str, source_id: str, rate: float, seconds: float, sample: int, followed: Followed
) -> tuple[list[float], int, int]:
    """Send at ``rate`` for ``seconds``; the answer times, requests sent, non-200s."""
    context = json.loads(SAMPLE.read_text())
    run = f"{time.time_ns():x}"
    answers: list[float] = []
    failures = 0
    # aiohttp (faust's own HTTP library): httpx's pool fell seconds behind at 200/s here
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(
        base_url=url, connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as http:

        async def one(index: int) -> None:
            nonlocal failures
            event_id, profile_id = f"lat-{run}-{index}", f"lat-{run}-p{index}"
            data = body(source_id, context, event_id, profile_id)
            sent = time.monotonic()
            try:
                async with http.post(
                    "/track", data=data, headers={"content-type": "application/json"}
                ) as answer:
                    await answer.read()
                    status = answer.status
            except (aiohttp.ClientError, TimeoutError):
                failures += 1
                return
            done = time.monotonic()
            answers.append(done - sent)
            if status != 200:
                failures += 1
            elif index % sample == 0:
                followed.profile_of[event_id] = profile_id
                followed.answered[event_id] = done

        total = int(rate * seconds)
        started = time.monotonic()
        tasks = set()
        for index in range(total):
            due = started + index / rate
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            task = asyncio.create_task(one(index))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks)
        late = time.monotonic() - started - seconds
        if late > 1:
            print(f"bench: sending took {late:.1f} s longer than planned", file=sys.stderr)
    return answers, total, failures


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_s": None, "p99_s": None, "max_s": None}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {
        "p50_s": round(statistics.median(ordered), 3),
        "p99_s": round(p99, 3),
        "max_s": round(ordered[-1], 3),
    }


def line(name: str, figures: dict[str, float | None], count: int, label: str) -> str:
    if figures["p50_s"] is None:
        return f"{name:<34} none  [{label}]"
    return (
        f"{name:<34} p50 {figures['p50_s']:7.3f} s  p99 {figures['p99_s']:7.3f} s  "
        f"max {figures['max_s']:7.3f} s  ({count} events)  [{label}]"
    )


def capacity_of(url: str, source_id: str) -> float:
    """The collector's 1-event ``/track`` requests per second under wrk (5 s, 32 connections)."""
    return run_wrk(
        "capacity", f"{url}/track", track_body(source_id, 1), 1, duration=5, connections=32
    ).rps


async def measure(
    args: argparse.Namespace,
    services: Services,
    collector: Served,
    worker: ManagedProcess,
    rate: float,
    capacity: float | None,
) -> dict[str, Any]:
    label = services.label
    source_id = services.init.sources[services.settings.env]
    settings = services.settings
    store = await connect_search(settings)
    events = events_alias(settings.index_prefix, settings.default_tenant, settings.env)
    profiles = profiles_alias(settings.index_prefix, settings.default_tenant, settings.env)
    followed = Followed()
    polling = asyncio.create_task(poll(store, events, profiles, followed))
    try:
        # the worker joins its group and takes its partitions first: a few events sent
        # until one is searchable, then the measured window with a fresh record
        warm = Followed()
        polling.cancel()
        polling = asyncio.create_task(poll(store, events, profiles, warm))
        started = time.monotonic()
        while not warm.searchable:
            if time.monotonic() - started > 180 or not worker.running:
                sys.exit(f"bench: no event searchable 180 s after start; see {worker.log_path}")
            await drive(collector.url, source_id, 10, 1, 1, warm)
        polling.cancel()
        print(f"worker ready after {time.monotonic() - started:.1f} s", flush=True)
        polling = asyncio.create_task(poll(store, events, profiles, followed))
        answers, sent, failures = await drive(
            collector.url, source_id, rate, args.seconds, args.sample, followed
        )
        deadline = time.monotonic() + DRAIN
        while time.monotonic() < deadline and (
            followed.pending(followed.searchable) or followed.pending(followed.in_profile)
        ):
            if not worker.running:
                sys.exit(f"bench: the worker exited; see {worker.log_path}")
            await asyncio.sleep(POLL)
    finally:
        polling.cancel()
        await store.close()
    searchable = Followed.delays(followed.answered, followed.searchable)
    in_profile = Followed.delays(followed.answered, followed.in_profile)
    figures = {
        "answer": percentiles(answers),
        "to_searchable": percentiles(searchable),
        "to_profile": percentiles(in_profile),
    }
    print(f"sent {sent} requests at {rate:.0f}/s for {args.seconds} s; {failures} failed")
    print(line("collector answer", figures["answer"], len(answers), label))
    print(line("200 -> event searchable", figures["to_searchable"], len(searchable), label))
    print(line("200 -> profile shows it", figures["to_profile"], len(in_profile), label))
    missing = len(followed.answered) - len(searchable)
    if missing:
        print(f"{missing} followed events were not searchable {DRAIN:.0f} s after the sending")
    return {
        "benchmark": "latency",
        "engines": services.figures(),
        "capacity_req_per_s": None if capacity is None else round(capacity, 1),
        "rate_per_s": round(rate, 1),
        "seconds": args.seconds,
        "sent": sent,
        "failed": failures,
        "followed": len(followed.answered),
        "not_searchable": missing,
        **figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--load", type=float, default=0.5, help="share of measured capacity")
    parser.add_argument("--rate", type=float, help="requests per second (skips the capacity)")
    parser.add_argument("--sample", type=int, default=20, help="follow one request in N")
    add_engines_option(parser)
    args = parser.parse_args()
    require_wrk()
    with tempfile.TemporaryDirectory(prefix="hw-bench-") as tmp, ExitStack() as stack:
        services = Services(stack, Path(tmp), args.engines)
        print(services.describe(), flush=True)
        collector = services.start_collector()
        worker = services.start_worker()
        capacity, rate = None, args.rate
        if rate is None:
            capacity = capacity_of(collector.url, services.init.sources[services.settings.env])
            rate = capacity * args.load
            print(f"collector capacity: {capacity:.0f} req/s; sending at {rate:.0f}/s", flush=True)
        figures = asyncio.run(measure(args, services, collector, worker, rate, capacity))
    print_json(figures)


if __name__ == "__main__":
    main()
