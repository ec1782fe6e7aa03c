"""Kafka transactions for the worker against today's idempotent fold, measured.

    python -m bench.transactions [--events 20000] [--per-message 5] [--profiles 500] [--rounds 3]

The profile agent exactly as bench/pipeline.py measures it (same intake messages, one
fresh topic prefix per round, timed by the record timestamps of its processed batches),
run alternately as ``headwater worker --agents profile`` (idempotent producer; a batch's
outputs acknowledged, then its offsets committed by Faust; a redelivered batch is
recognised by the profile fold) and as the two prototypes of bench/txn_worker.py (each
batch committed as Kafka transactions: outputs, changelog and consumed offsets together;
one transaction per batch, or one per input partition per batch). Point it at
Apache Kafka with HEADWATER_KAFKA / HEADWATER_SEARCH: the embedded Tansu refuses
InitProducerId, so it cannot run the transactional side; without them it starts Apache
Kafka and OpenSearch from the engines cache. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from contextlib import ExitStack

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench._harness import Services, print_json, run_with_services
from bench._workload import intake_messages, produce
from bench.pipeline import PROFILE_WORKER, Measured, fresh, measure_profile, median_line
from headwater.commands.up_engines import APACHE
from headwater.settings import Settings
from headwater.streams.kafka import ensure_topics, kafka_client_options, partitions_of
from headwater.streams.topics import Topics

VARIANTS = {  # name: worker command (bench/txn_worker.py)
    "idempotent fold (today)": None,
    "transaction per batch": ["bench.txn_worker", "worker", "--agents", "profile"],
    "transaction per partition": ["bench.txn_worker", "partition", "--agents", "profile"],
}


async def markers(settings: Settings) -> int:
    """Offsets of the events topic that hold no record: the transactions' commit
    markers (0 without transactions). Shows the transactional side really ran."""
    topic = Topics(settings.topic_prefix).events
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings), enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        records = 0
        async with asyncio.timeout(60):
            while [tp for tp in assigned if await consumer.position(tp) < ends[tp]]:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records += len(batch)
    finally:
        await consumer.stop()
    return sum(ends.values()) - records


async def run(args: argparse.Namespace, stack: ExitStack, services: Services) -> None:
    if services.standins:
        sys.exit("bench: needs Apache Kafka: Tansu has no transactions")
    base = services.settings
    tag = secrets.token_hex(3)
    n, timeout = args.events, 60 + args.events / 200
    prefixes = {
        name: [fresh(base, tag, f"{v}{i}") for i in range(args.rounds)]
        for v, name in enumerate(VARIANTS)
    }
    messages = intake_messages(
        base, services.init.sources[base.env], n, args.per_message, args.profiles
    )
    for rounds in prefixes.values():
        for settings in rounds:
            topics = Topics(settings.topic_prefix)
            await ensure_topics(settings, topics.specs(settings.partitions))
            await produce(settings, topics.intake, messages)
    print(f"intake: {n} events in {len(messages)} messages per prefix", flush=True)
    measured: dict[str, list[Measured]] = {name: [] for name in VARIANTS}
    for i in range(args.rounds):  # the variants alternate within every round
        for name, command in VARIANTS.items():
            settings = prefixes[name][i]
            figures = await measure_profile(
                stack, services, settings, n, timeout, command=command or PROFILE_WORKER
            )
            measured[name].append(figures)
    medians = {name: median_line(name, rounds, services.label) for name, rounds in measured.items()}
    fold = next(iter(medians.values())).events_per_s
    ratios = {name: m.events_per_s / fold for name, m in medians.items()}
    print(", ".join(f"{name}: {r:.2f}x" for name, r in ratios.items()), flush=True)
    marks = {name: await markers(rounds[0]) for name, rounds in prefixes.items()}
    print(f"commit markers on the events topic of round 1: {marks}", flush=True)
    print_json(
        {
            "benchmark": "transactions",
            "events": n,
            "per_message": args.per_message,
            "profiles": args.profiles,
            "rounds": args.rounds,
            "events_per_s": {name: round(m.events_per_s, 1) for name, m in medians.items()},
            "ratio_to_fold": {name: round(r, 3) for name, r in ratios.items()},
            "commit_markers_round_1": marks,
            "per_round": {name: [m.figures() for m in rounds] for name, rounds in measured.items()},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000, help="events in all (N)")
    parser.add_argument("--per-message", type=int, default=5, help="events per intake message")
    parser.add_argument("--profiles", type=int, default=500, help="distinct profiles")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each")
    args = parser.parse_args()
    if min(args.events, args.per_message, args.profiles, args.rounds) < 1:
        parser.error("--events, --per-message, --profiles and --rounds must be positive")
    run_with_services(APACHE, lambda stack, services: run(args, stack, services))


if __name__ == "__main__":
    main()
