"""A record the broker can never take is refused at once (RecordRejected), not retried
forever while the stage, and every tenant behind it, waits."""

from __future__ import annotations

import asyncio

import pytest

from headwater.commands.init import run_init
from headwater.errors import RecordRejected
from headwater.settings import Settings
from headwater.streams.kafka import ensure_topics
from headwater.streams.sender import RetryingSender
from headwater.streams.topics import Topics, TopicSpec

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.parametrize("batched", [False, True], ids=["per-record", "batched"])
async def test_a_record_too_large_for_good_fails_at_once_and_others_still_go(
    settings: Settings, batched: bool
) -> None:
    await run_init(settings)
    topic = Topics(settings.topic_prefix).profiles
    sender = RetryingSender(settings, "test", batched=batched)
    await sender.producer.start(wait=10)
    try:
        too_large = await sender(topic, b"a", b"x" * (6 * 1024 * 1024))
        small = await sender(topic, b"b", b"fine")
        with pytest.raises(RecordRejected, match="MessageSizeTooLarge"):
            await asyncio.wait_for(too_large, timeout=10)
        metadata = await asyncio.wait_for(small, timeout=10)
    finally:
        await sender.producer.stop()
    assert metadata.topic == topic


async def test_batched_records_of_a_partition_resolve_to_its_last_offset_in_order(
    settings: Settings,
) -> None:
    """Batched, the records a caller queued for one partition before it waited go as one
    batch, in order; each one's future gives that partition's last offset among them."""
    topic = f"{settings.topic_prefix}-batched"
    await ensure_topics(settings, [TopicSpec(topic, 1, {})])
    sender = RetryingSender(settings, "test", batched=True)
    await sender.producer.start(wait=10)
    try:
        await sender.producer.send(topic, b"first", b"k")  # the topic's metadata at hand
        acks = [await sender(topic, b"k", f"v{n}".encode()) for n in range(50)]
        results = await asyncio.wait_for(asyncio.gather(*acks), timeout=10)
    finally:
        await sender.producer.stop()
    assert {metadata.offset for metadata in results} == {50}  # the first record was at 0
    assert len({id(ack) for ack in acks}) == 1  # one future for the partition's records


async def test_a_batch_the_broker_refuses_fails_every_record_queued_with_it(
    settings: Settings,
) -> None:
    """The broker refuses batches, not records: over the topic's max.message.bytes,
    what went with the refused record is refused too (RecordRejected, at once), and the
    next batch goes."""
    topic = f"{settings.topic_prefix}-small-records"
    await ensure_topics(settings, [TopicSpec(topic, 1, {"max.message.bytes": "20000"})])
    sender = RetryingSender(settings, "test", batched=True)
    await sender.producer.start(wait=10)
    try:
        await sender.producer.send(topic, b"fine", b"k")
        small = await sender(topic, b"k", b"small")
        large = await sender(topic, b"k", b"x" * 40_000)
        for refused in (small, large):
            with pytest.raises(RecordRejected):
                await asyncio.wait_for(refused, timeout=10)
        after = await asyncio.wait_for(await sender(topic, b"k", b"fine again"), timeout=10)
    finally:
        await sender.producer.stop()
    assert after.topic == topic
