"""Reading a topic once, up to the end offsets taken when the read began: for the
private API's answers that come from a topic (configuration history, dead letters)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from headwater.errors import BrokerUnavailable
from headwater.settings import Settings
from headwater.streams.kafka import kafka_client_options, partitions_of

__all__ = ["read_topic"]

T = TypeVar("T")


async def read_topic(
    settings: Settings,
    topic: str,
    keep: Callable[[ConsumerRecord[bytes, bytes]], T | None],
    *,
    timeout: float,
    last: int | None = None,
) -> list[T]:
    """``keep(record)`` of every record of ``topic`` (or of the ``last`` records of each
    partition), where it is not None, partition by partition in offset order. The end is
    the one seen when the read began, so a busy topic cannot keep the read going;
    BrokerUnavailable when it is not reached in ``timeout`` seconds."""
    found: list[T] = []
    partitions = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
    if not partitions:
        return found
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings), enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            first = starts[tp] if last is None else max(starts[tp], ends[tp] - last)
            consumer.seek(tp, first)
        left = {tp for tp in partitions if ends[tp] > starts[tp]}
        async with asyncio.timeout(timeout):
            while left:
                fetched = await consumer.getmany(*left, timeout_ms=500)
                for tp, records in fetched.items():
                    for record in records:
                        if record.offset < ends[tp] and (kept := keep(record)) is not None:
                            found.append(kept)
                for tp in list(left):
                    if await consumer.position(tp) >= ends[tp]:
                        left.discard(tp)
    except TimeoutError:
        raise BrokerUnavailable(f"could not read {topic} to its end in {timeout:.0f} s") from None
    finally:
        await consumer.stop()
    return found
