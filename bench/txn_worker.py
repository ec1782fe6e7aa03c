"""A prototype for bench/transactions.py: the worker with Kafka transactions.

    python -m bench.txn_worker --agents profile      (configured by HEADWATER_* like the worker)

Runs ``headwater worker`` unchanged except that each stage's producer is transactional
and every batch is one transaction: the stage's outputs and changelog writes, then the
batch's consumed offsets (``send_offsets_to_transaction`` for the worker's consumer
group), then ``commit_transaction``. That is what "outputs and consumed offsets
committed together" costs on the broker. It is a measurement, not a design: one
transactional id per producer of a process (aiokafka has no KIP-447, so fencing a zombie
across a rebalance would need one transactional producer per input partition, which
costs more round trips still); readers downstream would need ``read_committed``.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition

import headwater.agents.worker as worker
import headwater.streams.kafka as kafka
from headwater.settings import Settings, load_settings
from headwater.streams.deadletter import SourceMessage

_PRODUCERS: list[AIOKafkaProducer] = []
_IDS = itertools.count()


class TransactionalProducer(AIOKafkaProducer):
    """What streams/kafka.py builds, with a transactional id (so idempotent too)."""

    def __init__(self, **options: Any) -> None:
        options.pop("enable_idempotence", None)
        worker_id = load_settings().worker_id
        tid = f"{worker_id}-{os.getpid()}-{next(_IDS)}"
        super().__init__(**options, transactional_id=tid)
        _PRODUCERS.append(self)


_run_in_batches = worker._run_in_batches


async def _transactional_batches(
    stream: Any, settings: Settings, handle: Callable[[list[SourceMessage]], Awaitable[Any]]
) -> None:
    async def in_transaction(messages: list[SourceMessage]) -> Any:
        producer = _PRODUCERS[-1]  # the stage's own (a profile-only worker has one)
        await producer.begin_transaction()
        try:
            result = await handle(messages)
            offsets: dict[TopicPartition, int] = {}
            for m in messages:
                tp = TopicPartition(m.topic, m.partition or 0)
                offsets[tp] = max(offsets.get(tp, 0), (m.offset or 0) + 1)
            await producer.send_offsets_to_transaction(offsets, settings.worker_id)
            await producer.commit_transaction()
        except BaseException:
            await producer.abort_transaction()
            raise
        return result

    await _run_in_batches(stream, settings, in_transaction)


def main() -> None:
    from headwater.infra.cli import main as cli

    kafka.AIOKafkaProducer = TransactionalProducer  # type: ignore[misc]
    worker._run_in_batches = _transactional_batches
    raise SystemExit(cli(["worker", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
