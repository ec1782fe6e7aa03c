"""The deletion of a forgotten profile takes its events from before the deletion with
it, also one stored after ``DELETE /profiles/{id}`` deleted the documents (applied just
before the state was forgotten), and keeps those of the new profile with the same id."""

from __future__ import annotations

import orjson
import pytest

from headwater.adapters.search.writer import BulkWriter
from headwater.agents.storage import StorageStage
from headwater.commands.init import run_init
from headwater.core.ports.search import SearchStore
from headwater.core.tenancy import events_alias
from headwater.schemas import INTAKE_BATCH, PROCESSED_BATCH, PROFILE_SNAPSHOT
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import SourceMessage
from headwater.streams.topics import Topics
from tests.support.dead_letters import refusing_dead_letters
from tests.support.intake import tracker_batch

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CODEC = AvroCodec.default()


def processed(settings: Settings, profile: str, version: int, offset: int) -> SourceMessage:
    """One page view of ``profile``, applied at ``version``."""
    body = {"source": {"id": "src"}, "profile": {"id": profile}, "events": [{"type": "page-view"}]}
    accepted = tracker_batch(settings, body)
    intake = CODEC.encode(INTAKE_BATCH, accepted.record)
    batch = accepted.record
    record = {
        "intake": intake,
        "profile_id": profile,
        "events": [
            {"id": e["id"], "session_id": f"se-{version}", "profile_version": version}
            for e in batch["events"]
        ],
        "sessions": [],
    }
    topic = Topics(settings.topic_prefix).events
    return SourceMessage(topic, 0, offset, accepted.key, CODEC.encode(PROCESSED_BATCH, record))


def erased(settings: Settings, profile: str, version: int) -> SourceMessage:
    document = {"id": profile, "tenant": "default", "env": "production", "erased": True}
    value = CODEC.encode(
        PROFILE_SNAPSHOT,
        {
            "tenant": "default",
            "env": "production",
            "id": profile,
            "version": version,
            "document": orjson.dumps(document),
        },
    )
    return SourceMessage(Topics(settings.topic_prefix).profiles, 0, 0, profile.encode(), value)


async def test_a_forgotten_profiles_events_go_with_its_deletion(
    settings: Settings, search: SearchStore
) -> None:
    await run_init(settings)

    stage = StorageStage(
        settings,
        CODEC,
        search,
        BulkWriter(search, max_backoff=1.0),
        refusing_dead_letters("s"),
    )
    # v1, v2: the old profile; the API deleted v1 already, v2 is stored after that; v4:
    # the new profile with the same id, stored before the deletion came by; p-other kept
    await stage.handle([processed(settings, "p-f", 2, 1), processed(settings, "p-f", 4, 3)])
    await stage.handle([processed(settings, "p-other", 1, 4)])
    await stage.handle([erased(settings, "p-f", 3)])

    alias = events_alias(settings.index_prefix, "default", "production")
    await search.refresh(alias)
    hits = (await search.search(alias, size=10))["hits"]["hits"]
    left = sorted((h["_source"]["profile"]["id"], h["_source"]["profile"]["version"]) for h in hits)
    assert left == [("p-f", 4), ("p-other", 1)]
