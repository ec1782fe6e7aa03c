"""Dead-letter records name the tenant and environment of the message's key."""

from __future__ import annotations

from headwater.core.tenancy import profile_key
from headwater.schemas import DEAD_LETTER
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage


async def _written(key: bytes | None) -> dict[str, object]:
    codec = AvroCodec.default()
    sent: list[bytes] = []

    async def send(_key: bytes | None, value: bytes) -> None:
        sent.append(value)

    dead = DeadLetters(codec, "profile", send)
    await dead.record(SourceMessage("hw.intake", 0, 7, key, b"junk"), "bad")
    return codec.decode(DEAD_LETTER, sent[0])


async def test_a_profile_key_names_the_tenant_and_environment() -> None:
    record = await _written(profile_key("acme", "staging", "p-1"))
    assert (record["tenant"], record["env"], record["stage"]) == ("acme", "staging", "profile")


async def test_a_key_that_names_nobody_leaves_both_null() -> None:
    record = await _written(b"not-a-profile-key")
    assert (record["tenant"], record["env"]) == (None, None)
