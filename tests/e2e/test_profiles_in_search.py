"""The worker's profile and storage agents, end to end: profiles and sessions in search."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater.adapters.search import connect_search
from headwater.commands.init import run_init
from headwater.core.tenancy import profiles_alias, sessions_alias
from headwater.schemas import INTAKE_BATCH
from headwater.streams.codec import AvroCodec
from headwater.streams.kafka import AckedProducer
from headwater.streams.topics import Topics
from tests.support.intake import Sender, tracker_batch
from tests.support.polling import eventually
from tests.support.processes import start_worker
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e


async def test_sessions_split_at_a_gap_whatever_order_events_arrive_in(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path)
    await run_init(settings)
    codec = AvroCodec.default()
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    # 10:00, then 10:40 (over 30 minutes later), then 10:20 arriving late, then 11:30:
    # two visits, 10:00-10:40 with three events and 11:30 alone.
    try:
        for n, clock in enumerate(["10:00", "10:40", "10:20", "11:30"]):
            body: dict[str, Any] = {
                "source": {"id": "src"},
                "profile": {"id": "walker"},
                "events": [{"type": "page-view", "time": {"create": f"2026-11-28T{clock}:00Z"}}],
            }
            accepted = tracker_batch(settings, body, received_at=1_795_900_000_000 + n)
            topic = Topics(settings.topic_prefix).intake
            await producer.send(topic, codec.encode(INTAKE_BATCH, accepted.record), accepted.key)
    finally:
        await producer.stop()

    worker = start_worker(settings, tmp_path / "worker.log")
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    profiles = profiles_alias(settings.index_prefix, "default", "production")
    sessions = sessions_alias(settings.index_prefix, "default", "production")
    try:

        async def profile_done() -> dict[str, Any] | None:
            await store.refresh(profiles)
            hits = (await store.search(profiles))["hits"]["hits"]
            return hits[0]["_source"] if hits and hits[0]["_source"]["version"] == 4 else None

        profile = await eventually(profile_done, timeout=90)

        async def two_sessions() -> list[dict[str, Any]] | None:
            await store.refresh(sessions)
            hits = (await store.search(sessions, sort=[{"start": "asc"}]))["hits"]["hits"]
            return [h["_source"] for h in hits] if len(hits) == 2 else None

        stored = await eventually(two_sessions, timeout=30)
    finally:
        worker.stop()
        await store.close()

    assert profile["stats"] == {"events": 4, "visits": 2, "by_type": {"page-view": 4}}
    assert [(s["start"], s["last"], s["events"]) for s in stored] == [
        ("2026-11-28T10:00:00.000Z", "2026-11-28T10:40:00.000Z", 3),
        ("2026-11-28T11:30:00.000Z", "2026-11-28T11:30:00.000Z", 1),
    ]
    assert all(s["profile"] == {"id": "walker"} for s in stored)


async def test_a_thousand_events_for_fifty_profiles_give_exact_counts(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path)
    await run_init(settings)
    rng = random.Random(5)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    sender = Sender(settings, producer)
    start = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    try:
        for n in range(200):  # 200 requests of 5 events: 1,000 events, 20 per profile
            profile = f"c{n % 50:02d}"
            at = start + timedelta(hours=n // 50)  # each profile's requests an hour apart
            events = [
                {
                    "type": rng.choice(("page-view", "click", "purchase")),
                    "time": {"create": (at + timedelta(minutes=k)).isoformat()},
                }
                for k in range(5)
            ]
            await sender.send(profile, events)
    finally:
        await producer.stop()
    assert sum(sender.sent.values()) == 1000

    worker = start_worker(settings, tmp_path / "worker.log")
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    profiles = profiles_alias(settings.index_prefix, "default", "production")
    try:

        async def all_profiles_done() -> dict[str, dict[str, Any]] | None:
            await store.refresh(profiles)
            hits = (await store.search(profiles, size=100))["hits"]["hits"]
            found = {h["_id"]: h["_source"] for h in hits}
            done = len(found) == 50 and all(d["stats"]["events"] == 20 for d in found.values())
            return found if done else None

        stored = await eventually(all_profiles_done, timeout=120, every=1)
    finally:
        worker.stop()
        await store.close()

    for profile, document in stored.items():
        assert document["stats"]["by_type"] == dict(sender.types[profile]), profile
        assert document["stats"]["visits"] == 4, profile  # four requests, an hour apart
        assert document["version"] == 20
