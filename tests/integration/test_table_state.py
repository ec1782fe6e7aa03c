"""A stage's table state written through its changelog, against a real broker.

Recovery rebuilds a table by reading its changelog up to the end offset the broker
reports, and resumes from the offset the store persisted. So after every write: the
changelog holds each key's latest value, the end offset of every partition is one past
its last record (with end marks, also on a broker that misreports multi-record batches),
and the store persisted exactly that last offset.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from headwater.settings import Settings
from headwater.streams.kafka import ensure_topics
from headwater.streams.partitioning import key_partition
from headwater.streams.sender import RetryingSender
from headwater.streams.table_state import END_MARK, ChangelogState
from headwater.streams.topics import TopicSpec

pytestmark = pytest.mark.integration

PARTITIONS = 3


class _Store(dict[bytes, bytes]):
    """The store side of a Faust table: values, and the offsets recovery resumes from."""

    def __init__(self) -> None:
        super().__init__()
        self.persisted: dict[int, int] = {}

    def set_persisted_offset(self, tp: Any, offset: int) -> None:
        self.persisted[tp.partition] = offset


def _table(topic: str) -> Any:
    """What ChangelogState uses of a Faust table (its store is a real dict here)."""
    return SimpleNamespace(
        partitions=PARTITIONS,
        changelog_topic=SimpleNamespace(get_topic_name=lambda: topic),
        data=_Store(),
    )


async def _read_back(
    settings: Settings, topic: str, last: dict[int, int]
) -> tuple[dict[int, list[Any]], dict[int, int]]:
    """Every record up to the acknowledged ``last`` offsets, and the broker's end offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_servers, enable_auto_commit=False)
    await consumer.start()
    assigned = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    records: dict[int, list[Any]] = {p: [] for p in range(PARTITIONS)}
    try:
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        async with asyncio.timeout(15):
            while any(
                not records[p] or records[p][-1].offset < last[p] for p in last
            ):  # stop at what the acknowledgements said, not at the end offsets under test
                for tp, batch in (await consumer.getmany(timeout_ms=200)).items():
                    records[tp.partition].extend(batch)
        ends = await consumer.end_offsets(assigned)
    finally:
        await consumer.stop()
    return records, {tp.partition: offset for tp, offset in ends.items()}


@pytest.mark.parametrize("batched", [False, True], ids=["per-record", "batched"])
@pytest.mark.parametrize("mark_ends", [True, False], ids=["end-marks", "no-end-marks"])
async def test_writes_reach_the_changelog_then_the_store_with_correct_end_offsets(
    settings: Settings, mark_ends: bool, batched: bool
) -> None:
    """Without end marks (Apache Kafka, where worker_single_record_batches stays off) the
    end offsets are just as right: the marks are only for Tansu."""
    if not mark_ends and settings.worker_single_record_batches:
        pytest.skip("this broker misreports multi-record batches' end offsets (Tansu)")
    topic = f"{settings.topic_prefix}-state-changelog"
    await ensure_topics(settings, [TopicSpec(topic, PARTITIONS, {"cleanup.policy": "compact"})])
    sender = RetryingSender(settings, "test", batched=batched)
    await sender.producer.start(wait=10)
    table = _table(topic)
    state = ChangelogState(table, sender, mark_ends=mark_ends)
    first = {f"tenant:env:p{n}".encode(): f"v1-{n}".encode() for n in range(60)}
    second: dict[bytes, bytes | None] = {f"tenant:env:p{n}".encode(): None for n in range(10)}
    second.update({f"tenant:env:p{n}".encode(): f"v2-{n}".encode() for n in range(10, 40)})
    try:
        await state.write(first)
        await state.write(second)
    finally:
        await sender.producer.stop()

    expected = {k: v for k, v in {**first, **second}.items() if v is not None}
    store = table.data
    assert dict(store) == expected
    assert set(store.persisted) == set(range(PARTITIONS))  # 60 keys touch every partition
    records, ends = await _read_back(settings, topic, store.persisted)
    replayed: dict[bytes, bytes | None] = {}
    for partition, found in records.items():
        assert ends[partition] == store.persisted[partition] + 1  # recovery reads it all
        last = found[-1]
        if mark_ends:
            assert (last.key, last.value) == (END_MARK, None)  # a write ends with its mark
        else:
            assert END_MARK not in {record.key for record in found}
        for record in found:
            if record.key != END_MARK:
                assert key_partition(record.key, PARTITIONS) == partition
                replayed[record.key] = record.value
    assert {k: v for k, v in replayed.items() if v is not None} == expected


async def test_an_empty_write_sends_nothing(settings: Settings) -> None:
    async def refuse(*args: Any) -> Any:
        raise AssertionError("nothing to send")

    table = _table("unused")
    await ChangelogState(table, refuse, mark_ends=True).write({})
    assert dict(table.data) == {}
