"""A replay after an event mapping changed re-folds the live worker's profiles too: the
worker's profile table switches to the rebuilt profiles at the replay's markers, and
later events fold onto them (agents/profile_rebuild.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from headwater.adapters.search import connect_search
from headwater.agents.replay import ReplayPlan, run_replay
from headwater.commands.init import run_init
from headwater.core.mapping import MAPPING_KIND
from headwater.core.profiles import Profile
from headwater.core.tenancy import events_alias, profile_key, profiles_alias
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer, kafka_client_options, partitions_of
from tests.support.config import publish_entries
from tests.support.intake import Sender
from tests.support.polling import eventually
from tests.support.processes import start_worker
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e

PROFILES = [f"m{n}" for n in range(6)]
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def mapping(target: str) -> dict[str, Any]:
    return {"event_type": "purchase", "fields": [{"source": "properties.plan", "target": target}]}


def purchases(plan: str, count: int, day: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "purchase",
            "time": {"create": (START + timedelta(days=day, minutes=n)).isoformat()},
            "properties": {"plan": plan, "n": n},
        }
        for n in range(count)
    ]


async def profile_table(settings: Settings) -> dict[bytes, bytes]:
    """The live worker's profile table as its changelog holds it (latest per key)."""
    topic = f"{settings.topic_prefix}-worker-profiles-changelog"  # tests/support/processes.py
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings), enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    found: dict[bytes, bytes] = {}
    try:
        parts = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        while [p for p in parts if await consumer.position(p) < ends[p]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    if r.value is None:
                        found.pop(r.key, None)
                    else:
                        found[r.key] = r.value
    finally:
        await consumer.stop()
    return found


def live_profile(table: dict[bytes, bytes], profile: str) -> Profile:
    return Profile.loads(table[profile_key("default", "production", profile)])


async def test_a_replay_after_a_mapping_change_refolds_the_live_profiles(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path)
    await run_init(settings)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    publisher = ConfigPublisher(settings, AvroCodec.default(), producer)
    await publish_entries(publisher, [(MAPPING_KIND, "plan", mapping("traits.plan"))])
    sender = Sender(settings, producer)
    for profile in PROFILES:  # mapping A: plan -> traits.plan, 3 events in 2 batches
        events = purchases("gold", 3, day=0)
        await sender.send(profile, events[:2])
        await sender.send(profile, events[2:])
    await Sender(settings, producer, env="staging").send("s0", purchases("gold", 1, day=0))

    worker = start_worker(settings, tmp_path / "worker.log")
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    profiles = profiles_alias(settings.index_prefix, "default", "production")

    async def documents_show(events: int, traits: dict[str, str]) -> bool:
        await store.refresh(profiles)
        hits = (await store.search(profiles, size=100))["hits"]["hits"]
        got = {h["_id"]: (h["_source"]["stats"]["events"], h["_source"]["traits"]) for h in hits}
        return got == dict.fromkeys(PROFILES, (events, traits))

    try:
        await eventually(lambda: documents_show(3, {"plan": "gold"}), timeout=120, every=0.5)
        staging = profile_key("default", "staging", "s0")

        async def staging_folded() -> dict[bytes, bytes] | None:
            table = await profile_table(settings)
            return table if staging in table else None

        before = await eventually(staging_folded, timeout=30, every=0.5)
        assert live_profile(before, "m0").traits == {"plan": "gold"}

        await publisher.publish(  # mapping B: the plan goes to traits.tier now
            kind=MAPPING_KIND,
            tenant="default",
            env="production",
            entity_id="plan",
            data=mapping("traits.tier"),
            version=2,
            updated_by="test",
        )
        plan = ReplayPlan(env="production", follow_seconds=1)
        report = await run_replay(settings, plan, node_class=endpoints.es_node_class)
        assert report.switched == {0: "switched", 1: "switched", 2: "switched"}

        after = await profile_table(settings)  # the live table holds the re-folded profiles
        for profile in PROFILES:
            refolded = live_profile(after, profile)
            assert (refolded.events, refolded.traits) == (3, {"tier": "gold"}), profile
        assert after[staging] == before[staging]  # not the rebuilt environment

        for profile in PROFILES:  # later events fold onto the rebuilt profiles
            await sender.send(profile, purchases("platinum", 2, day=1))
        await eventually(lambda: documents_show(5, {"tier": "platinum"}), timeout=60, every=0.5)
        final = await profile_table(settings)
        for profile in PROFILES:
            folded = live_profile(final, profile)
            assert (folded.events, folded.by_type) == (5, {"purchase": 5}), profile
            assert folded.traits == {"tier": "platinum"}

        events = events_alias(settings.index_prefix, "default", "production")
        await store.refresh(events)
        hits = (await store.search(events, size=100))["hits"]["hits"]
        assert sorted(h["_id"] for h in hits) == sorted(sender.ids)
        assert len(hits) == len(PROFILES) * 5
    finally:
        worker.stop()
        await producer.stop()
        await store.close()
