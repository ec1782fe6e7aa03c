"""A record the broker can never take is refused at once (RecordRejected), not retried
forever while the stage, and every tenant behind it, waits."""

from __future__ import annotations

import asyncio

import pytest

from headwater.commands.init import run_init
from headwater.errors import RecordRejected
from headwater.settings import Settings
from headwater.streams.sender import RetryingSender
from headwater.streams.topics import Topics

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_a_record_too_large_for_good_fails_at_once_and_others_still_go(
    settings: Settings,
) -> None:
    await run_init(settings)
    topic = Topics(settings.topic_prefix).profiles
    sender = RetryingSender(settings, "test")
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
