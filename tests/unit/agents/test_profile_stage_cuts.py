"""Where the workers (or a replay) cut the messages into sets makes no difference to a
profile: an ``absorb`` in the same set as the batch that gave the profile its email
leaves the same document and claims as one in the next set."""

from __future__ import annotations

from typing import Any

import orjson

from headwater.agents.profile import ProfileStage
from headwater.core.profile_ops import op
from headwater.schemas import IDENTITY_CLAIM, PROFILE_OP, PROFILE_SNAPSHOT
from headwater.settings import load_settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import SourceMessage
from headwater.streams.table_state import MemoryState
from headwater.streams.topics import Topics
from tests.support.dead_letters import refusing_dead_letters
from tests.support.intake import intake_source_message, tracker_batch

CODEC = AvroCodec.default()
SETTINGS = load_settings(topic_prefix="cuts")
TOPICS = Topics(SETTINGS.topic_prefix)


def identify(profile: str, email: str) -> SourceMessage:
    body = {
        "source": {"id": "src"},
        "profile": {"id": profile},
        "events": [{"type": "identify", "properties": {"email": email}}],
    }
    accepted = tracker_batch(SETTINGS, body, received_at=1_795_900_000_000)
    return intake_source_message(SETTINGS, accepted, 0)


def absorb(profile: str, into: str) -> SourceMessage:
    record = op("absorb", "default", "production", profile, into)
    key = f"default:production:{profile}".encode()
    return SourceMessage(TOPICS.profile_ops, 0, 0, key, CODEC.encode(PROFILE_OP, record))


async def acknowledged() -> None:
    return None


async def outputs(*cuts: list[SourceMessage]) -> tuple[dict[str, Any], list[str]]:
    """The last snapshot document and the identifiers claimed, fed in ``cuts``."""
    sent: list[tuple[str, bytes]] = []

    async def send(topic: str, key: bytes, value: bytes) -> Any:
        sent.append((topic, value))
        return acknowledged()

    stage = ProfileStage(SETTINGS, CODEC, MemoryState(), send, refusing_dead_letters("p"))
    for cut in cuts:
        sent_before = len(sent)
        await stage.handle(cut)
        assert len(sent) > sent_before
    snapshots = [CODEC.decode(PROFILE_SNAPSHOT, v) for t, v in sent if t == TOPICS.profiles]
    claims = [CODEC.decode(IDENTITY_CLAIM, v) for t, v in sent if t == TOPICS.identity]
    return orjson.loads(snapshots[-1]["document"]), [c["identifier"] for c in claims]


async def test_an_absorb_in_the_same_set_as_the_batch_before_it_changes_nothing() -> None:
    batch, merge = identify("cut-b", "b@example.com"), absorb("cut-b", "cut-a")
    apart = await outputs([batch], [merge])
    together = await outputs([batch, merge])
    assert apart[0]["merged_into"] == "cut-a"
    assert [i for i in apart[0]["ids"] if i.startswith("email:")]
    assert together == apart
