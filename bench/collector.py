"""Collector throughput: /track with 1 and 20 events, /v1/batch with 100, next to a bare endpoint.

    python -m bench.collector [--duration 10] [--connections 32] [--processes N]
                              [--engines standins|apache]

Starts what it needs on free ports (the embedded stand-ins, or with ``--engines apache``
Apache Kafka and OpenSearch, unless HEADWATER_KAFKA / HEADWATER_SEARCH are set), loads
each endpoint with wrk for a fixed duration and concurrency, prints req/s, events/s,
p50/p99 latency and errors, and ends with one JSON line. Every request is a new visitor
(no profile or session id) and carries a realistic ~2 KB browser context
(bench/data/browser_context.json). The ``/v1/batch`` body is what a server-side
Segment SDK sends: 100 track and page calls of 20 users, the batch-level context of the
SDK, write key in the body.

The default scenarios compare like with like: one uvicorn process each. With
``--processes N`` (N > 1) it also runs the collector and the bare endpoint with N uvicorn
workers each, as ``headwater collector --workers N`` would in production.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench._harness import (
    LoadResult,
    Served,
    Services,
    add_engines_option,
    print_json,
    require_wrk,
    run_wrk,
    start_bare_endpoint,
)

SAMPLE = Path(__file__).resolve().parent / "data" / "browser_context.json"


def track_body(source_id: str, events: int) -> bytes:
    context = json.loads(SAMPLE.read_text())
    body: dict[str, Any] = {
        "source": {"id": source_id},
        "session": None,
        "profile": None,
        "context": context,
        "properties": {},
        "events": [
            {
                "type": "page-view" if i % 2 == 0 else "add-to-cart",
                "properties": {
                    "url": f"https://shop.example/p/{i}",
                    "sku": f"SKU-{i:05d}",
                    "qty": 1,
                },
                "options": {},
            }
            for i in range(events)
        ],
        "options": {"saveSession": True, "saveEvents": True},
    }
    return json.dumps(body).encode()


def segment_batch_body(write_key: str, messages: int) -> bytes:
    """A Segment SDK's batch: ``messages`` calls spread over 20 users, ids and times set."""
    batch = [
        {
            "type": "track" if i % 2 == 0 else "page",
            "event": "Product Viewed" if i % 2 == 0 else None,
            "name": None if i % 2 == 0 else "Product",
            "userId": f"user-{i % 20}",
            "messageId": f"bench-{i:06d}",
            "timestamp": "2026-11-28T12:00:00.000+00:00",
            "properties": {"sku": f"SKU-{i:05d}", "price": 19.9, "url": f"/p/{i}"},
            "context": {"ip": "203.0.113.7"},
            "integrations": {},
        }
        for i in range(messages)
    ]
    return json.dumps(
        {
            "batch": batch,
            "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
            "sentAt": "2026-11-28T12:00:01.000+00:00",
            "writeKey": write_key,
        }
    ).encode()


def cpu_share(bare: LoadResult, served: LoadResult) -> float | None:
    """The bare endpoint's CPU per request over the collector's: what req/s would show
    for one CPU-bound process each, whatever else the machine runs meanwhile."""
    if bare.cpu_us_per_request is None or not served.cpu_us_per_request:
        return None
    return bare.cpu_us_per_request / served.cpu_us_per_request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--processes", type=int, default=1, help="also run with N workers")
    add_engines_option(parser)
    args = parser.parse_args()
    require_wrk()

    # the engines stop (the stack closes) before their data directory goes
    with tempfile.TemporaryDirectory(prefix="hw-bench-") as tmp, ExitStack() as stack:
        logs = Path(tmp)
        services = Services(stack, logs, args.engines)
        label = services.label
        print(services.describe(), flush=True)
        collector = services.start_collector()
        bare = start_bare_endpoint(stack, logs)
        source_id = services.init.sources[services.settings.env]
        one, twenty = track_body(source_id, 1), track_body(source_id, 20)
        segment_100 = segment_batch_body(services.init.write_keys[services.settings.env], 100)
        print(
            f"bodies: 1 event {len(one)} B, 20 events {len(twenty)} B, "
            f"/v1/batch of 100 {len(segment_100)} B; "
            f"{args.duration}s per scenario, {args.connections} connections"
        )

        def load(name: str, served: Served, path: str, body: bytes, events: int) -> LoadResult:
            url = f"{served.url}{path}"
            run_wrk(name, url, body, events, duration=2, connections=args.connections)  # warm-up
            result = run_wrk(
                name,
                url,
                body,
                events,
                duration=args.duration,
                connections=args.connections,
                cpu_of=served.pid,
            )
            print(result.line(label), flush=True)
            return result

        bare_1 = load("bare 1 event", bare, "/track", one, 1)
        track_1 = load("track 1 event", collector, "/track", one, 1)
        track_20 = load("track 20 ev", collector, "/track", twenty, 20)
        batch_100 = load("v1/batch 100", collector, "/v1/batch", segment_100, 100)

        n = args.processes
        scaled: dict[str, Any] = {}
        if n > 1:
            many = services.start_collector(workers=n)
            bare_many = start_bare_endpoint(stack, logs, workers=n)
            bare_1n = load(f"bare 1 ev x{n}", bare_many, "/track", one, 1)
            track_1n = load(f"track 1 ev x{n}", many, "/track", one, 1)
            track_20n = load(f"track 20 ev x{n}", many, "/track", twenty, 20)
            batch_100n = load(f"v1/batch 100 x{n}", many, "/v1/batch", segment_100, 100)
            ratio_n = track_1n.rps / bare_1n.rps
            print(f"collector / bare (1 event), {n} processes each: {ratio_n:.2f}x  [{label}]")
            scaled = {
                "processes": n,
                f"bare_1_x{n}": bare_1n.figures(),
                f"track_1_x{n}": track_1n.figures(),
                f"track_20_x{n}": track_20n.figures(),
                f"segment_batch_100_x{n}": batch_100n.figures(),
                f"ratio_vs_bare_x{n}": round(ratio_n, 3),
            }

    ratio = track_1.rps / bare_1.rps
    print(f"collector / bare (1 event): {ratio:.2f}x  [{label}]")
    cpu_ratio = cpu_share(bare_1, track_1)
    if cpu_ratio is not None:
        print(f"bare / collector CPU per request (1 event): {cpu_ratio:.2f}x  [{label}]")
    print_json(
        {
            "benchmark": "collector",
            "engines": services.figures(),
            "duration_s": args.duration,
            "connections": args.connections,
            "bare_1": bare_1.figures(),
            "track_1": track_1.figures(),
            "track_20": track_20.figures(),
            "segment_batch_100": batch_100.figures(),
            "ratio_vs_bare": round(ratio, 3),
            "cpu_ratio_vs_bare": None if cpu_ratio is None else round(cpu_ratio, 3),
            **scaled,
        }
    )


if __name__ == "__main__":
    main()
