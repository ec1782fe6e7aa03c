"""Prototypes for bench/transactions.py: the worker with Kafka transactions.

    python -m bench.txn_worker worker|partition --agents profile   (configured by HEADWATER_*)

Runs ``headwater worker`` unchanged except that each stage's producer is transactional
and every batch is committed as Kafka transactions: the stage's outputs and changelog
writes, then the batch's consumed offsets (``send_offsets_to_transaction`` for the
worker's consumer group), then ``commit_transaction``. Measurements, not a design:

- ``worker``: one transactional producer per stage and process, one transaction per
  batch. The cheapest form, but it cannot fence a zombie: aiokafka has no KIP-447
  (``send_offsets_to_transaction`` takes a group id, not the consumer's generation), so
  a worker that lost its partitions in a rebalance could still commit for them.
- ``partition``: the fencing aiokafka allows, Faust's own ``exactly_once`` scheme: one
  transactional id per input partition (stable across workers, so the new owner's
  InitProducerId fences the old one), a transaction per partition per batch, committed
  concurrently. Outputs go to the producer of their key's partition, which is the input
  partition for everything co-partitioned with the input (events, snapshots, changelog).

Readers downstream would need ``read_committed``; these prototypes leave them as they are.
"""

from __future__ import annotations

import asyncio
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
from headwater.streams.partitioning import key_partition

_PRODUCERS: list[Any] = []
_IDS = itertools.count()


class TransactionalProducer(AIOKafkaProducer):
    """What streams/kafka.py builds, with a transactional id (so idempotent too)."""

    def __init__(self, **options: Any) -> None:
        options.pop("enable_idempotence", None)
        tid = f"{load_settings().worker_id}-{os.getpid()}-{next(_IDS)}"
        super().__init__(**options, transactional_id=tid)
        _PRODUCERS.append(self)

    def transactions(self, partitions: set[int]) -> list[AIOKafkaProducer]:
        return [self]

    def producer_of(self, partition: int) -> AIOKafkaProducer:
        return self


class PartitionTransactions:
    """One transactional producer per partition, behind the producer interface
    AckedProducer uses (start, stop, send, client)."""

    def __init__(self, **options: Any) -> None:
        options.pop("enable_idempotence", None)
        settings = load_settings()
        self._partitions = settings.partitions
        self.producers = [
            AIOKafkaProducer(**options, transactional_id=f"{settings.worker_id}-txn-{p}")
            for p in range(settings.partitions)
        ]
        self.client = self.producers[0].client
        _PRODUCERS.append(self)

    async def start(self) -> None:
        await asyncio.gather(*(p.start() for p in self.producers))

    async def stop(self) -> None:
        await asyncio.gather(*(p.stop() for p in self.producers))

    async def send(
        self, topic: str, value: Any, key: Any = None, partition: int | None = None
    ) -> Any:
        p = partition if partition is not None else key_partition(key, self._partitions)
        return await self.producers[p].send(topic, value, key=key, partition=partition)

    def transactions(self, partitions: set[int]) -> list[AIOKafkaProducer]:
        return self.producers  # an output may go to any partition

    def producer_of(self, partition: int) -> AIOKafkaProducer:
        return self.producers[partition]


_run_in_batches = worker._run_in_batches


async def _transactional_batches(
    stream: Any,
    settings: Settings,
    stage: str,
    handle: Callable[[list[SourceMessage]], Awaitable[Any]],
) -> None:
    async def in_transaction(messages: list[SourceMessage]) -> Any:
        producer = _PRODUCERS[-1]  # the stage's own (a profile-only worker has one)
        offsets: dict[TopicPartition, int] = {}
        for m in messages:
            tp = TopicPartition(m.topic, m.partition or 0)
            offsets[tp] = max(offsets.get(tp, 0), (m.offset or 0) + 1)
        involved = producer.transactions({tp.partition for tp in offsets})
        await asyncio.gather(*(p.begin_transaction() for p in involved))
        try:
            result = await handle(messages)
            by_producer: dict[int, tuple[AIOKafkaProducer, dict[TopicPartition, int]]] = {}
            for tp, offset in offsets.items():
                owner = producer.producer_of(tp.partition)
                by_producer.setdefault(id(owner), (owner, {}))[1][tp] = offset
            await asyncio.gather(
                *(
                    owner.send_offsets_to_transaction(part, settings.worker_id)
                    for owner, part in by_producer.values()
                )
            )
            await asyncio.gather(*(p.commit_transaction() for p in involved))
        except BaseException:
            await asyncio.gather(*(p.abort_transaction() for p in involved))
            raise
        return result

    await _run_in_batches(stream, settings, stage, in_transaction)


def main() -> None:
    from headwater.commands.cli import main as cli

    mode, args = sys.argv[1], sys.argv[2:]
    chosen = {"worker": TransactionalProducer, "partition": PartitionTransactions}[mode]
    kafka.AIOKafkaProducer = chosen  # type: ignore[misc, assignment]
    worker._run_in_batches = _transactional_batches
    raise SystemExit(cli(["worker", *args]))


if __name__ == "__main__":
    main()
