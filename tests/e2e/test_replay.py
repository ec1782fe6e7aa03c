"""``headwater replay`` against a live worker while events keep coming in."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater.adapters.search import connect_search
from headwater.agents.replay import ReplayPlan, run_replay
from headwater.commands.init import run_init
from headwater.core.ports.search import SearchStore
from headwater.core.tenancy import events_alias, generation_index, profiles_alias, sessions_alias
from headwater.streams.kafka import AckedProducer
from tests.support.intake import Sender
from tests.support.polling import eventually
from tests.support.processes import start_worker
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e

PROFILES = [f"p{n:02d}" for n in range(50)]
HOT = PROFILES[:10]  # receive events while the replay runs
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def events_for(rng: random.Random, profile: str, count: int, day: int) -> list[dict[str, Any]]:
    """Page views with gaps that split sessions, a purchase and an identify with traits."""
    out = []
    for n in range(count):
        minutes = n * rng.choice((2, 5, 45))
        at = START + timedelta(days=day, minutes=minutes)
        kind = "identify" if n == 0 else rng.choice(("page-view", "page-view", "purchase"))
        properties: dict[str, Any] = {"traits": {"email": f"{profile}@example.com", "day": day}}
        out.append(
            {
                "type": kind,
                "time": {"create": at.isoformat()},
                "properties": properties if kind == "identify" else {"n": n},
            }
        )
    return out


async def documents(store: SearchStore, index: str) -> dict[str, dict[str, Any]]:
    await store.refresh(index)
    hits = (await store.search(index, size=1000))["hits"]["hits"]
    return {h["_id"]: h["_source"] for h in hits}


async def test_replay_rebuilds_identical_documents_and_loses_no_concurrent_event(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path)
    await run_init(settings)
    rng = random.Random(11)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    sender = Sender(settings, producer)
    for profile in PROFILES:  # 1,000 events, 20 per profile, in batches of 5
        events = events_for(rng, profile, 20, day=0)
        for at in range(0, 20, 5):
            await sender.send(profile, events[at : at + 5])

    worker = start_worker(settings, tmp_path / "worker.log")
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    prefix = settings.index_prefix
    profiles = profiles_alias(prefix, "default", "production")
    sessions = sessions_alias(prefix, "default", "production")
    events = events_alias(prefix, "default", "production")

    async def profiles_match(expected: Counter[str]) -> bool:
        stored = await documents(store, profiles)
        got = {pid: doc["stats"]["events"] for pid, doc in stored.items()}
        return got == dict(expected)

    try:
        await eventually(lambda: profiles_match(sender.sent), timeout=120, every=1)

        async def trickle() -> None:  # collection keeps running during the replay
            for round_ in range(20):  # ~10 s: before, across and after the alias switch
                for profile in HOT:
                    await sender.send(profile, events_for(rng, profile, 1, day=round_ + 1))
                await asyncio.sleep(0.5)

        sending = asyncio.create_task(trickle())
        report = await run_replay(
            settings, ReplayPlan(follow_seconds=8), node_class=endpoints.es_node_class
        )
        await sending
        assert report.generations == {"default/production": 2}
        # the live table switched to the rebuild while events came in: the counts below
        # are the live stage's, folded onto the rebuilt profiles after the markers
        assert report.switched == dict.fromkeys(range(settings.partitions), "switched")

        await eventually(lambda: profiles_match(sender.sent), timeout=120, every=1)

        async def all_events() -> int | None:
            await store.refresh(events)
            found = await store.count(events)
            return found if found >= len(sender.ids) else None

        assert await eventually(all_events, timeout=60, every=1) == len(sender.ids) == 1200
        stored_ids = {h["_id"] for h in (await store.search(events, size=2000))["hits"]["hits"]}
        assert stored_ids == set(sender.ids)

        assert await store.get_alias(profiles) == [generation_index(profiles, 2)]
        assert await store.get_alias(sessions) == [generation_index(sessions, 2)]
        assert all("-000002-" in index for index in await store.get_alias(events))

        # Profiles and sessions the live worker wrote (generation 1) and the replay
        # rebuilt (generation 2) are equal, field for field, where no event came in
        # during the replay; the hot ones only exist complete in generation 2.
        live = await documents(store, generation_index(profiles, 1))
        rebuilt = await documents(store, generation_index(profiles, 2))
        cold = set(PROFILES) - set(HOT)
        assert {p: live[p] for p in cold} == {p: rebuilt[p] for p in cold}
        assert rebuilt["p03"]["traits"]["email"] == "p03@example.com"
        live_sessions = await documents(store, generation_index(sessions, 1))
        rebuilt_sessions = await documents(store, generation_index(sessions, 2))

        def of_cold(found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
            return {k: v for k, v in found.items() if v["profile"]["id"] in cold}

        assert of_cold(live_sessions) == of_cold(rebuilt_sessions)
        assert len(of_cold(rebuilt_sessions)) > len(cold)  # the gaps split visits
    finally:
        worker.stop()
        await producer.stop()
        await store.close()
