"""Dead letters in tests of a stage that must not write any."""

from __future__ import annotations

from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters


async def _refuse(key: bytes | None, value: bytes) -> None:
    raise AssertionError("nothing here should be dead-lettered")


def refusing_dead_letters(stage: str) -> DeadLetters:
    """``stage``'s dead letters, failing the test as soon as one is written."""
    return DeadLetters(AvroCodec.default(), stage, _refuse)
