"""Kafka transactions for the worker against today's idempotent fold, measured.

    python -m bench.transactions [--events 20000] [--per-message 5] [--profiles 500] [--rounds 3]

The profile agent exactly as bench/pipeline.py measures it (same intake messages, one
fresh topic prefix per round, timed by the record timestamps of its processed batches),
run alternately as ``headwater worker --agents profile`` (idempotent producer; a batch's
outputs acknowledged, then its offsets committed by Faust; a redelivered batch is
recognised by the profile fold) and as bench/txn_worker.py (each batch one Kafka
transaction: outputs, changelog and consumed offsets committed together). Point it at
Apache Kafka with HEADWATER_KAFKA / HEADWATER_SEARCH: the embedded Tansu refuses
InitProducerId, so it cannot run the transactional side. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench._harness import EmbeddedServices, print_json
from bench._workload import intake_messages, produce
from bench.pipeline import Measured, fresh, measure_profile, median_line
from headwater.settings import Settings
from headwater.streams.kafka import ensure_topics, kafka_client_options, partitions_of
from headwater.streams.topics import Topics

TRANSACTIONAL_WORKER = ["bench.txn_worker", "--agents", "profile"]


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


async def run(args: argparse.Namespace, stack: ExitStack, services: EmbeddedServices) -> None:
    if services.single_record_batches:
        sys.exit("bench: needs Apache Kafka (set HEADWATER_KAFKA): Tansu has no transactions")
    base = services.settings
    tag = secrets.token_hex(3)
    n, timeout = args.events, 60 + args.events / 200
    fold = [fresh(base, tag, f"i{i}") for i in range(args.rounds)]
    txn = [fresh(base, tag, f"t{i}") for i in range(args.rounds)]
    messages = intake_messages(
        base, services.init.sources[base.env], n, args.per_message, args.profiles
    )
    for settings in fold + txn:
        await ensure_topics(settings, Topics(settings.topic_prefix).specs(settings.partitions))
        await produce(settings, Topics(settings.topic_prefix).intake, messages)
    print(f"intake: {n} events in {len(messages)} messages on each of {2 * args.rounds} prefixes")
    fold_rounds: list[Measured] = []
    txn_rounds: list[Measured] = []
    for plain, transactional in zip(fold, txn, strict=True):
        fold_rounds.append(await measure_profile(stack, services, plain, n, timeout))
        txn_rounds.append(
            await measure_profile(
                stack, services, transactional, n, timeout, command=TRANSACTIONAL_WORKER
            )
        )
    fold_m = median_line("idempotent fold (today)", fold_rounds)
    txn_m = median_line("one transaction per batch", txn_rounds)
    ratio = txn_m.events_per_s / fold_m.events_per_s
    print(f"transactions / idempotent fold: {ratio:.2f}x", flush=True)
    marks = {"fold": await markers(fold[0]), "transactions": await markers(txn[0])}
    print(f"commit markers on the events topic of round 1: {marks}", flush=True)
    print_json(
        {
            "benchmark": "transactions",
            "events": n,
            "per_message": args.per_message,
            "profiles": args.profiles,
            "rounds": args.rounds,
            "idempotent_fold_events_per_s": round(fold_m.events_per_s, 1),
            "transactions_events_per_s": round(txn_m.events_per_s, 1),
            "ratio": round(ratio, 3),
            "commit_markers_round_1": marks,
            "idempotent_fold": [m.figures() for m in fold_rounds],
            "transactions": [m.figures() for m in txn_rounds],
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
    logs = Path(tempfile.mkdtemp(prefix="hw-bench-"))
    try:
        with ExitStack() as stack:
            services = EmbeddedServices(stack, logs)
            asyncio.run(run(args, stack, services))
    except BaseException:
        print(f"bench: logs kept in {logs}", file=sys.stderr)
        raise
    shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()
