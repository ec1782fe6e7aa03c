"""Reading a rebuild's states back from ``hw.profile.rebuild`` on a real broker: only
that rebuild's, only once its end record is there, and never a partial set."""

from __future__ import annotations

import pytest

from headwater.agents.profile_rebuild import RebuildRecords, read_rebuild, rebuild_record
from headwater.commands.init import run_init
from headwater.core.rebuild import RebuildRecord
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.kafka import AckedProducer
from headwater.streams.topics import Topics

pytestmark = pytest.mark.integration

RECORDS = RebuildRecords(AvroCodec.default())


async def _write(settings: Settings, records: list[RebuildRecord]) -> None:
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    try:
        topic = Topics(settings.topic_prefix).profile_rebuild
        for record in records:
            sent = await producer.enqueue(
                topic, RECORDS.encode(record), record["key"], record["partition"]
            )
            await sent
    finally:
        await producer.stop()


def _state(rebuild: str, key: bytes) -> RebuildRecord:
    return rebuild_record(rebuild, "state", 0, key=key, state=b"state of " + key)


async def test_the_states_of_one_rebuild_once_its_end_is_read(settings: Settings) -> None:
    await run_init(settings)
    await _write(
        settings,
        [
            _state("r1", b"a"),
            _state("other", b"x"),  # another rebuild's: not taken
            _state("r1", b"b"),
            rebuild_record("r1", "end", 0, count=2),
            _state("short", b"c"),
            rebuild_record("short", "end", 0, count=2),  # one state missing
            _state("open", b"d"),  # no end yet
        ],
    )

    found = await read_rebuild(settings, RECORDS, "r1", 0, timeout=10)
    assert found == {b"a": b"state of a", b"b": b"state of b"}
    assert await read_rebuild(settings, RECORDS, "short", 0, timeout=10) is None
    # not patient: what is there already, and no end is there
    assert await read_rebuild(settings, RECORDS, "open", 0, timeout=10, patient=False) is None
    # patient: waits for the end until the timeout
    assert await read_rebuild(settings, RECORDS, "open", 0, timeout=1.5) is None
