"""The identity stage with its real in-memory state and a send that collects: the first
claim owns an identifier, a second profile's claim merges it (an ``absorb`` for the
profile merged away, keyed as that profile's messages, and a merge record), and the
table is written only once every output was acknowledged."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from headwater.agents.identity import IdentityStage
from headwater.core.tenancy import identity_key, profile_key
from headwater.schemas import MERGE_RECORD, PROFILE_OP
from headwater.settings import load_settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import SourceMessage
from headwater.streams.pipeline_records import PipelineRecords
from headwater.streams.table_state import MemoryState
from headwater.streams.topics import Topics
from tests.support.dead_letters import refusing_dead_letters

CODEC = AvroCodec.default()
SETTINGS = load_settings(topic_prefix="idstage")
TOPICS = Topics(SETTINGS.topic_prefix)
RECORDS = PipelineRecords(CODEC, TOPICS)
EMAIL = "email:5f0e"


def claim(profile: str, first_seen: int, offset: int) -> SourceMessage:
    record = {
        "tenant": "default",
        "env": "production",
        "identifier": EMAIL,
        "profile_id": profile,
        "first_seen": first_seen,
        "unique": {},
        "absorbed": [],
        "merges": 0,
        "release": False,
    }
    encoded = RECORDS.claim(record)
    return SourceMessage(encoded.topic, 0, offset, encoded.key, encoded.value)


async def test_a_second_profile_claiming_an_identifier_is_merged_into_the_first() -> None:
    state = MemoryState()
    sent: list[tuple[str, bytes, bytes]] = []
    unacknowledged: list[asyncio.Future[None]] = []
    both_sent = asyncio.Event()

    async def send(topic: str, key: bytes, value: bytes) -> Any:
        sent.append((topic, key, value))
        acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        unacknowledged.append(acknowledged)
        if len(unacknowledged) == 2:
            both_sent.set()
        return acknowledged

    stage = IdentityStage(SETTINGS, CODEC, state, send, refusing_dead_letters("identity"))
    handled = asyncio.ensure_future(
        stage.handle([claim("id-old", 1_000, 0), claim("id-new", 2_000, 1)])
    )
    await both_sent.wait()
    await asyncio.sleep(0)  # the stage is waiting for the acknowledgements now
    assert state.data == {}  # nothing is stored before the outputs are acknowledged
    for acknowledged in unacknowledged:
        acknowledged.set_result(None)
    result = await handled

    assert (result.claims, result.merges, result.refused) == (2, 1, 0)
    (ops_topic, ops_key, ops_value), (merges_topic, merges_key, merges_value) = sent
    assert (ops_topic, ops_key) == (
        TOPICS.profile_ops,
        profile_key("default", "production", "id-new"),
    )
    absorb = CODEC.decode(PROFILE_OP, ops_value)
    assert (absorb["op"], absorb["profile_id"], absorb["other"]) == ("absorb", "id-new", "id-old")
    assert (merges_topic, merges_key) == (
        TOPICS.merges,
        profile_key("default", "production", "id-old"),
    )
    merge = CODEC.decode(MERGE_RECORD, merges_value)
    assert (merge["outcome"], merge["survivor"], merge["other"]) == ("merged", "id-old", "id-new")
    owner = orjson.loads(state.data[identity_key("default", "production", EMAIL)])
    assert (owner["profile_id"], owner["merges"]) == ("id-old", 1)


def test_claims_are_keyed_by_identifier_and_operations_by_their_profile() -> None:
    reclaim = {
        "op": "reclaim",
        "id": "reclaim:p1:",
        "tenant": "t1",
        "env": "staging",
        "profile_id": "p1",
        "other": None,
        "state": None,
    }
    encoded = RECORDS.op(reclaim)
    assert (encoded.topic, encoded.key) == (TOPICS.profile_ops, b"t1:staging:p1")
    assert CODEC.decode(PROFILE_OP, encoded.value) == reclaim
    assert claim("p2", 0, 0).key == b"default/production:email:5f0e"
