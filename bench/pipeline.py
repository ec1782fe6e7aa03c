"""Pipeline throughput: intake messages through the profile agent and into search.

    python -m bench.pipeline [--events 20000] [--per-message 5] [--profiles 500] [--rounds 3]
                             [--engines standins|apache]

Starts what it needs on free ports: the embedded stand-ins (Tansu, osmem) or, with
``--engines apache``, Apache Kafka and OpenSearch, unless HEADWATER_KAFKA /
HEADWATER_SEARCH are set. It builds N events for a fixed set of
profiles, K events per intake message, exactly as the collector writes them
(``build_tracker_batch`` + Avro ``intake_batch``, keyed ``tenant:profile``, each with the
~2 KB browser context of bench/data/browser_context.json), and produces those same
messages to the intake topic of a fresh topic prefix per measurement. It measures:

1. raw aiokafka: a consumer with ``getmany`` decoding every message (median of 3 reads);
2. the naive design: a plain Faust agent (bench/naive_agent.py, its own app id and table)
   doing one table read-modify-write per event; timed by the record timestamps of its
   table's changelog, from the first change to the N-th;
3. Headwater's profile agent (``headwater worker --agents profile``); timed by the record
   timestamps of the processed batches on the events topic, from the first batch to the
   one that brings the applied events to N; then the same with a 5-node flow (rule per
   event type) run on every event, on a prefix whose config topic holds the flow.
   2 and 3 run alternately, ``--rounds`` times, each round on its own prefix; the
   median round is reported, with every round in the JSON;
4. events searchable: the whole worker (profile + storage agents) on another prefix,
   polling the events alias (count, after the index's own 1 s refresh, as users see it;
   forcing a refresh per poll made no difference, 2026-12-07); (N - count at the first
   non-zero poll) divided by the time from that poll to the one that counts N;
5. the search engine's own bulk rate for the same documents (bench/_bulk.py): the
   records the whole worker wrote in 4., made into the same bulk actions by the same
   storage stage in batches of the same size, bulk-written alone to fresh indices until
   a refresh counts N; and the ratio of 4. to it. Then the storage stage alone on the
   same messages and batches, timed from building the documents to a refresh counting
   N: one batch after the other (build, then write) and writing behind (the next batch
   built while the last one's bulk is in flight), twice each (A B B A), against the
   raw bulk.

Worker start-up is excluded everywhere. The CPU each process used over each measured
window (from /proc; "other" is the rest of the machine) shows where the time goes and
whether something else on the machine disturbed the run. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from bench._bulk import raw_bulk, stage_alone_both_ways
from bench._harness import Services, add_engines_option, print_json, run_with_services
from bench._measure import (
    POLL,
    CpuSampler,
    cpu_text,
    indexed_documents,
    processed_events,
    raw_read,
    read_back,
    service_pids,
    verdict,
    watch,
)
from bench._workload import intake_messages, produce, publish_flow
from bench.naive_agent import changelog_topic
from headwater.adapters.search import connect_search
from headwater.commands.embedded import ManagedProcess, start_process
from headwater.commands.init import run_init
from headwater.core.tenancy import events_alias, profiles_alias, sessions_alias
from headwater.errors import SearchUnavailable
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.kafka import ensure_topics
from headwater.streams.topics import Topics, TopicSpec

# --- observing ------------------------------------------------------------------------


def fresh(settings: Settings, run: str, tag: str) -> Settings:
    return settings.model_copy(
        update={"topic_prefix": f"bench-{run}-{tag}", "index_prefix": f"b{run}{tag}"}
    )


def start_worker(
    stack: ExitStack,
    services: Services,
    settings: Settings,
    name: str,
    args: list[str],
    worker_id: str,
    *,
    single_record_batches: bool | None = None,
) -> ManagedProcess:
    """A worker process configured like tests/support/processes.py ``worker_env``
    (single-record batches on the stand-ins only, unless told)."""
    if single_record_batches is None:
        single_record_batches = services.standins
    env = services.env(
        HEADWATER_TOPIC_PREFIX=settings.topic_prefix,
        HEADWATER_INDEX_PREFIX=settings.index_prefix,
        HEADWATER_PARTITIONS=str(settings.partitions),
        HEADWATER_WORKER_ID=worker_id,
        HEADWATER_WORKER_SINGLE_RECORD_BATCHES=str(single_record_batches).lower(),
    )
    log = services.logs / f"{settings.topic_prefix}-{name}.log"
    process = start_process(name, [sys.executable, "-m", *args], log_path=log, env=env)
    stack.callback(process.stop)
    return process


# --- the run --------------------------------------------------------------------------


@dataclass
class Measured:
    events_per_s: float
    seconds: float
    cpu: dict[str, float]

    def figures(self) -> dict[str, Any]:
        return {
            "events_per_s": round(self.events_per_s, 1),
            "seconds": round(self.seconds, 2),
            "cpu_cores": self.cpu,
        }


def line(name: str, eps: float, detail: str, engines: str) -> None:
    print(f"{name:<34} {eps:>9,.0f} events/s  {detail}  [{engines}]", flush=True)


async def measure_naive(
    stack: ExitStack, services: Services, settings: Settings, n: int, timeout: float
) -> Measured:
    """A plain Faust agent with a table update per event, timed by its changelog."""
    app_id = f"{settings.topic_prefix}-naive"
    changelog = changelog_topic(app_id)
    await ensure_topics(  # exists before anyone asks for its metadata
        settings, [TopicSpec(changelog, settings.partitions, {"cleanup.policy": "compact"})]
    )
    naive = start_worker(  # batches its changelog writes, as a plain Faust app does
        stack,
        services,
        settings,
        "naive",
        ["bench.naive_agent"],
        app_id,
        single_record_batches=False,
    )
    with CpuSampler({"worker": naive.popen.pid, **service_pids()}) as cpu:
        flow = await watch(
            settings, [changelog], lambda r, f: 1, lambda f: f.count >= n, naive, timeout
        )
    naive.stop()
    assert flow.first_ts is not None and flow.last_ts is not None
    return Measured(n / flow.seconds, flow.seconds, cpu.shares(flow.first_ts, flow.last_ts))


PROFILE_WORKER = ["headwater", "worker", "--agents", "profile"]


async def measure_profile(
    stack: ExitStack,
    services: Services,
    settings: Settings,
    n: int,
    timeout: float,
    command: list[str] = PROFILE_WORKER,
) -> Measured:
    """``headwater worker --agents profile`` (or ``command``), timed by its processed
    batches."""
    events_topic = Topics(settings.topic_prefix).events
    worker = start_worker(
        stack, services, settings, "profile-worker", command, f"{settings.topic_prefix}-worker"
    )
    with CpuSampler({"worker": worker.popen.pid, **service_pids()}) as cpu:
        flow = await watch(
            settings,
            [events_topic],
            processed_events(AvroCodec.default(), events_topic),
            lambda f: f.count >= n,
            worker,
            timeout,
        )
    worker.stop()
    if flow.count != n:
        print(f"note: the profile agent applied {flow.count} events, not {n}", flush=True)
    assert flow.first_ts is not None and flow.last_ts is not None
    return Measured(n / flow.seconds, flow.seconds, cpu.shares(flow.first_ts, flow.last_ts))


def median_line(name: str, rounds: list[Measured], engines: str) -> Measured:
    """Print the median round, the spread and the median round's CPU use."""
    ordered = sorted(rounds, key=lambda m: m.events_per_s)
    mid = ordered[(len(ordered) - 1) // 2]
    spread = ", ".join(f"{m.events_per_s:,.0f}" for m in rounds)
    line(
        name,
        mid.events_per_s,
        f"{mid.seconds:.2f} s, median of [{spread}]; CPU cores: {cpu_text(mid.cpu)}",
        engines,
    )
    return mid


async def run(args: argparse.Namespace, stack: ExitStack, services: Services) -> None:
    base = services.settings
    label = services.label
    print(services.describe(), flush=True)
    tag = secrets.token_hex(3)
    # osmem and a one-node OpenSearch on a busy 2-core machine make as few as ~100
    # events searchable per second
    n, timeout = args.events, 120 + args.events / 50
    # one fresh prefix per round (each round reads its own copy of the same messages and
    # writes its own outputs), and one for the whole worker
    rounds = [fresh(base, tag, f"a{i}") for i in range(args.rounds)]
    flow_rounds = [fresh(base, tag, f"f{i}") for i in range(args.rounds)]
    second = fresh(base, tag, "b")
    for settings in rounds + flow_rounds:
        await ensure_topics(settings, Topics(settings.topic_prefix).specs(settings.partitions))
    for settings in flow_rounds:
        await publish_flow(settings)
    await run_init(second)  # topics, and the search templates and indices

    built = time.perf_counter()
    messages = intake_messages(
        base, services.init.sources[base.env], n, args.per_message, args.profiles
    )
    built_s = time.perf_counter() - built
    size = sum(len(v) for _, v in messages) / len(messages)
    produced = [
        await produce(settings, Topics(settings.topic_prefix).intake, messages)
        for settings in rounds
    ]
    for settings in flow_rounds:
        await produce(settings, Topics(settings.topic_prefix).intake, messages)
    produced_s = statistics.median(produced)
    print(
        f"intake: {n} events in {len(messages)} messages ({args.per_message} per message, "
        f"{size / 1024:.1f} KB avg) for {args.profiles} profiles; built in {built_s:.1f} s, "
        f"produced in {produced_s:.2f} s ({len(messages) / produced_s:,.0f} msg/s)",
        flush=True,
    )

    # 1. raw aiokafka
    reads = []
    for _ in range(3):
        intake = Topics(rounds[0].topic_prefix).intake
        seconds, events = await raw_read(rounds[0], intake, len(messages))
        assert events == n, (events, n)
        reads.append(seconds)
    raw_s = statistics.median(reads)
    raw_eps = n / raw_s
    line("raw aiokafka getmany + decode", raw_eps, f"{raw_s:.2f} s, median of 3", label)

    # 2. and 3.: the naive design and the profile agent, alternately, one round per prefix
    naive_rounds: list[Measured] = []
    profile_rounds: list[Measured] = []
    flow_runs: list[Measured] = []
    for settings, with_flow in zip(rounds, flow_rounds, strict=True):
        naive_rounds.append(await measure_naive(stack, services, settings, n, timeout))
        profile_rounds.append(await measure_profile(stack, services, settings, n, timeout))
        flow_runs.append(await measure_profile(stack, services, with_flow, n, timeout))
    naive_m = median_line("naive Faust agent, table per event", naive_rounds, label)
    profile_m = median_line("headwater profile agent", profile_rounds, label)
    flow_m = median_line("profile agent, 5-node flow per event", flow_runs, label)
    ratio = profile_m.events_per_s / naive_m.events_per_s
    pairs = list(zip(naive_rounds, profile_rounds, strict=True))
    ratios = [p.events_per_s / q.events_per_s for q, p in pairs]
    print(
        f"profile agent / naive design: {ratio:.2f}x (per round: "
        + ", ".join(f"{r:.2f}x" for r in ratios)
        + f")  [{label}]",
        flush=True,
    )

    # 4. until searchable: the whole worker on a second prefix
    second_topics = Topics(second.topic_prefix)
    await produce(second, second_topics.intake, messages)
    store = await connect_search(second)
    alias = events_alias(second.index_prefix, second.default_tenant, second.env)
    worker = start_worker(
        stack,
        services,
        second,
        "worker",
        ["headwater", "worker"],
        worker_id=f"{second.topic_prefix}-worker",
    )
    writes_done = asyncio.Event()
    watching = asyncio.create_task(
        watch(
            second,
            [second_topics.events, second_topics.profiles],
            processed_events(AvroCodec.default(), second_topics.events),
            lambda flow: writes_done.is_set(),
            worker,
            timeout,
        )
    )
    try:
        with CpuSampler({"worker": worker.popen.pid, **service_pids()}) as cpu:
            seen: tuple[float, int] | None = None
            deadline = time.monotonic() + timeout
            while True:
                if not worker.running:
                    sys.exit(f"bench: the worker exited; see {worker.log_path}")
                try:  # searchable as users see it: after the index's own refresh
                    count = await store.count(alias)  # (1 s), not a forced one per poll
                except SearchUnavailable as exc:  # a busy engine: poll again
                    print(f"bench: search poll failed ({exc}); polling again", file=sys.stderr)
                    await asyncio.sleep(POLL)
                    continue
                now = time.time()
                if count and seen is None:
                    seen = (now, count)
                if count >= n:
                    break
                if time.monotonic() > deadline:
                    sys.exit(f"bench: only {count} of {n} events searchable after {timeout} s")
                await asyncio.sleep(POLL)
        searchable_at = now
        await asyncio.sleep(1.0)  # let the watcher reach the end of both topics
        writes_done.set()
        writes = await asyncio.wait_for(watching, 30)
    finally:
        watching.cancel()
        await store.close()
    worker.stop()
    assert seen is not None
    t0, c0 = seen
    if count > n:
        print(f"note: {count} event documents for {n} events")
    search_s = searchable_at - t0
    searchable_eps = (n - c0) / search_s if search_s > 0 and c0 < n else float("nan")
    search_cpu = cpu.shares(t0, searchable_at)
    search_writes = n + writes.sessions + writes.snapshots  # records for the storage stage
    tenant, env = second.default_tenant, second.env
    indexed = await indexed_documents(
        second.search,
        [
            alias,
            sessions_alias(second.index_prefix, tenant, env),
            profiles_alias(second.index_prefix, tenant, env),
        ],
    )
    docs_per_s = searchable_eps * indexed / n
    line(
        "events searchable (whole worker)",
        searchable_eps,
        f"{search_s:.2f} s from the first count ({c0} documents) to {n}; "
        f"CPU cores: {cpu_text(search_cpu)}",
        label,
    )
    assert writes.first_ts is not None and writes.last_ts is not None
    stage_eps = writes.count / writes.seconds
    behind = searchable_at - writes.last_ts
    print(
        f"  records for the storage stage: {search_writes} ({n} events, {writes.sessions} "
        f"session updates, {writes.snapshots} profile snapshots), {search_writes / n:.2f} "
        f"per event; documents the engine indexed: {indexed} ({indexed / n:.2f} per event: "
        f"the stage writes only the latest version of each in a batch), about "
        f"{docs_per_s:,.0f} docs/s",
        flush=True,
    )
    print(
        f"  profile stage in the same worker: {stage_eps:,.0f} events/s, its last batch "
        f"{behind:.1f} s before the last event was searchable",
        flush=True,
    )
    bottleneck = verdict(search_cpu, stage_eps, docs_per_s, services.search_name)
    print(f"bottleneck: {bottleneck}", flush=True)

    # 5. the search engine's own bulk rate for the same documents, in the same run
    outputs = await read_back(
        second, [second_topics.events, second_topics.profiles], writes.records
    )
    raw_index = second.model_copy(update={"index_prefix": f"{second.index_prefix}raw"})
    bulk = await raw_bulk(raw_index, outputs, n, service_pids())
    line(
        "search engine raw bulk, same docs",
        bulk.events_per_s,
        f"{services.search_name}: {bulk.documents} documents in {bulk.batches} batches of up to "
        f"{second.stage_batch_messages} messages, {bulk.seconds:.2f} s, "
        f"{bulk.docs_per_s:,.0f} docs/s; CPU cores: {cpu_text(bulk.cpu)}",
        label,
    )
    print(f"  per event: {bulk.per_event()}", flush=True)
    share = searchable_eps / bulk.events_per_s
    print(f"events searchable / raw bulk of the same documents: {share:.2f}x  [{label}]")
    alone = await stage_alone_both_ways(second, outputs, n)
    stage_figures: dict[str, Any] = {}
    for name, passes in alone.items():
        rate = n * len(passes) / sum(p.seconds for p in passes)
        stage_figures[name] = {
            "events_per_s": round(rate, 1),
            "vs_raw_bulk": round(rate / bulk.events_per_s, 3),
            "seconds": [round(p.seconds, 2) for p in passes],
            "cpu_cores": [p.cpu for p in passes],
        }
        line(
            f"storage stage alone, {name}",
            rate,
            f"{rate / bulk.events_per_s:.2f}x the raw bulk; "
            + ", ".join(f"{p.seconds:.2f} s (CPU cores: {cpu_text(p.cpu)})" for p in passes),
            label,
        )
    windows = [m.cpu for m in naive_rounds + profile_rounds] + [search_cpu, bulk.cpu]
    other = max(cpu.get("other", 0.0) for cpu in windows)
    if other > 0.25:
        print(
            f"warning: other processes on this machine used up to {other:.2f} cores during "
            "the measurements; the figures are lower than on an idle machine",
            flush=True,
        )

    print_json(
        {
            "benchmark": "pipeline",
            "engines": services.figures(),
            "events": n,
            "per_message": args.per_message,
            "profiles": args.profiles,
            "messages": len(messages),
            "message_bytes_avg": round(size),
            "raw_events_per_s": round(raw_eps, 1),
            "naive_events_per_s": round(naive_m.events_per_s, 1),
            "profile_events_per_s": round(profile_m.events_per_s, 1),
            "profile_with_flow_events_per_s": round(flow_m.events_per_s, 1),
            "searchable_events_per_s": round(searchable_eps, 1),
            "raw_bulk_events_per_s": round(bulk.events_per_s, 1),
            "searchable_vs_raw_bulk": round(share, 3),
            "profile_vs_naive": round(ratio, 3),
            "other_cpu_cores_max": other,
            "raw": {"seconds": [round(s, 3) for s in reads]},
            "naive": naive_m.figures(),
            "profile": profile_m.figures(),
            "profile_with_flow": flow_m.figures(),
            "rounds": [
                {
                    "naive": q.figures(),
                    "profile": p.figures(),
                    "ratio": round(r, 3),
                }
                for (q, p), r in zip(pairs, ratios, strict=True)
            ],
            "searchable": {
                "seconds": round(search_s, 2),
                "first_count": c0,
                "cpu_cores": search_cpu,
                "search_writes": search_writes,
                "documents_indexed": indexed,
                "search_docs_per_s": round(docs_per_s, 1),
                "profile_stage_events_per_s": round(stage_eps, 1),
                "bottleneck": bottleneck,
            },
            "raw_bulk": bulk.figures(),
            "storage_stage_alone": stage_figures,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000, help="events in all (N)")
    parser.add_argument("--per-message", type=int, default=5, help="events per intake message")
    parser.add_argument("--profiles", type=int, default=500, help="distinct profiles")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating naive / profile agent rounds"
    )
    add_engines_option(parser)
    args = parser.parse_args()
    if min(args.events, args.per_message, args.profiles, args.rounds) < 1:
        parser.error("--events, --per-message, --profiles and --rounds must be positive")

    run_with_services(args.engines, lambda stack, services: run(args, stack, services))


if __name__ == "__main__":
    main()
