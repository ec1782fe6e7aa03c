"""A replay rebuilds exactly what the live pipeline built: every event, profile and
session document of the live generation and of the replayed one are equal, after
merges (with events sent to the absorbed profile before and after the merge), forgets
(right to be forgotten, also of a profile that absorbed another) and flows (events
injected back through intake)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater.adapters.search import connect_search
from headwater.agents.replay import ReplayPlan, run_replay
from headwater.commands.init import run_init
from headwater.console.tenant_data import TenantData
from headwater.core.ports.search import SearchStore
from headwater.core.profile_ops import op
from headwater.core.tenancy import (
    events_alias,
    generation_index,
    profile_key,
    profiles_alias,
    sessions_alias,
)
from headwater.schemas import PROFILE_OP
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer
from headwater.streams.topics import Topics
from tests.e2e.test_automation import CONFIG, purchase, records_in
from tests.support.config import publish_entries
from tests.support.intake import Sender
from tests.support.polling import eventually
from tests.support.processes import start_worker
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e

DAY = datetime(2026, 11, 21, tzinfo=UTC)
ENV = "production"


def at(hour: int, minute: int = 0) -> dict[str, str]:
    return {"create": (DAY + timedelta(hours=hour, minutes=minute)).isoformat()}


def views(hour: int, count: int) -> list[dict[str, Any]]:
    return [{"type": "page-view", "time": at(hour, n)} for n in range(count)]


def identify(hour: int, email: str) -> list[dict[str, Any]]:
    return [{"type": "identify", "time": at(hour, 30), "properties": {"email": email}}]


async def documents(store: SearchStore, pattern: str) -> dict[str, dict[str, Any]]:
    await store.refresh(pattern)
    hits = (await store.search(pattern, size=1000))["hits"]["hits"]
    return {h["_id"]: h["_source"] for h in hits}


class Live:
    """The live generation as the private API reads it."""

    def __init__(self, store: SearchStore, prefix: str) -> None:
        self.store = store
        self.profiles = profiles_alias(prefix, "default", ENV)
        self.events = events_alias(prefix, "default", ENV)
        self.data = TenantData(store, prefix, "default")

    async def profile(self, profile_id: str) -> dict[str, Any] | None:
        await self.store.refresh(self.profiles)
        return await self.store.get(self.profiles, profile_id)

    async def until(self, profile_id: str, **expected: Any) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            doc = await self.profile(profile_id)
            if doc is None:
                return None
            seen = {"events": doc["stats"]["events"], "merged_into": doc["merged_into"]}
            return doc if all(seen[k] == v for k, v in expected.items()) else None

        return await eventually(probe, timeout=90, every=0.5)

    async def owners(self) -> Counter[str]:
        await self.store.refresh(self.events)
        hits = (await self.store.search(self.events, size=1000))["hits"]["hits"]
        self.last = [(h["_source"]["profile"]["id"], h["_source"]["type"]) for h in hits]
        return Counter(h["_source"]["profile"]["id"] for h in hits)

    async def settled(self, expected: dict[str, int]) -> None:
        """Wait until the live events are ``expected`` (per profile id)."""

        async def probe() -> bool:
            return await self.owners() == expected

        try:
            await eventually(probe, timeout=60, every=0.5)
        except AssertionError:
            raise AssertionError(
                f"live events by profile: {await self.owners()} {self.last}"
            ) from None


async def test_replay_rebuilds_the_live_generation_document_for_document(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path)
    await run_init(settings)
    codec = AvroCodec.default()
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    publisher = ConfigPublisher(settings, codec, producer)
    await publish_entries(publisher, CONFIG, env=ENV)
    worker = start_worker(settings, tmp_path / "worker.log")
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    live = Live(store, settings.index_prefix)
    sender = Sender(settings, producer)

    async def forget(*profile_ids: str) -> None:
        """What DELETE /profiles/{id} does, once the worker has forgotten the state (so
        no event sent later can reach the old profile): the profiles merged into it are
        read first, as the route does, since the worker erases their documents too."""
        owners = {p: await live.data.merged_ids(ENV, p, fresh=True) for p in profile_ids}
        for profile_id in profile_ids:
            record = op("forget", "default", ENV, profile_id)
            key = profile_key("default", ENV, profile_id)
            topic = Topics(settings.topic_prefix).profile_ops
            await producer.send(topic, codec.encode(PROFILE_OP, record), key)

        async def forgotten() -> bool:
            return all([await live.profile(p) is None for p in profile_ids])

        await eventually(forgotten, timeout=60, every=0.5)
        for profile_id in profile_ids:
            await live.data.forget_profile(ENV, profile_id, owners[profile_id])

    try:
        # two anonymous devices, three page views each, then the same email on both
        await sender.send("r-a", views(9, 3))
        await sender.send("r-b", views(10, 3))
        await sender.send("r-a", identify(9, "r@example.com"))
        await live.until("r-a", events=4)
        await sender.send("r-b", identify(10, "r@example.com"))
        await live.until("r-b", merged_into="r-a")
        await sender.send("r-b", views(12, 2))  # reaches r-a through the alias
        # 4 + 4 merged + these 2 + the segment event the merge causes (visits >= 2), which
        # may land before or after them: waiting for 10 missed it when it came right after
        await live.until("r-a", events=11)

        # flows: purchases run a flow whose segment event comes back through intake
        await sender.send("r-shop", [purchase(9, 40)])
        await sender.send("r-shop", [purchase(12, 250)])

        async def welcomed() -> bool:
            doc = await live.profile("r-shop")
            return bool(doc and doc["traits"].get("welcomed"))

        await eventually(welcomed, timeout=90, every=0.5)

        # forgotten: a plain profile, and a survivor with the profile it absorbed
        await sender.send("r-gone", views(9, 2))
        await sender.send("r-c", [*views(8, 2), *identify(8, "c@example.com")])
        await live.until("r-c", events=3)
        await sender.send("r-d", [*views(11, 1), *identify(11, "c@example.com")])
        await live.until("r-d", merged_into="r-c")
        await live.until("r-gone", events=2)
        await live.until("r-c", events=5)
        # the absorbed profiles' events stay their own; the segment event came back
        everything = {"r-a": 7, "r-b": 4, "r-shop": 3, "r-gone": 2, "r-c": 3, "r-d": 2}
        await live.settled(everything)
        await forget("r-gone", "r-c")
        assert await live.profile("r-d") is None  # forgotten with the profile it merged into
        await sender.send("r-gone", views(15, 1))  # a new, empty profile
        await live.until("r-gone", events=1)
        await live.settled({"r-a": 7, "r-b": 4, "r-shop": 3, "r-gone": 1})

        progress: list[tuple[int, int]] = []
        replaying = asyncio.create_task(
            run_replay(
                settings,
                ReplayPlan(env=ENV, follow_seconds=4),
                progress=lambda done, total: progress.append((done, total)),
                node_class=endpoints.es_node_class,
            )
        )

        async def switched() -> bool:
            aliased = await store.get_alias(live.profiles)
            return aliased == [generation_index(live.profiles, 2)]

        await eventually(switched, timeout=60, every=0.1)
        # read while the replay follows the log (another environment: not rebuilt)
        await Sender(settings, producer, env="staging").send("r-late", views(16, 1))
        report = await replaying
        assert report.generations == {f"default/{ENV}": 2}
        topics = Topics(settings.topic_prefix)
        logged = sum([await records_in(settings, t) for t in (topics.intake, topics.profile_ops)])

        prefix = settings.index_prefix
        rebuilt: dict[str, dict[str, dict[str, Any]]] = {}
        original: dict[str, dict[str, dict[str, Any]]] = {}
        for family, alias in (
            ("events", events_alias(prefix, "default", ENV)),
            ("profiles", profiles_alias(prefix, "default", ENV)),
            ("sessions", sessions_alias(prefix, "default", ENV)),
        ):
            indices = await store.list_indices(f"{alias}-*")
            second = [i for i in indices if i.startswith(generation_index(alias, 2))]
            first = [i for i in indices if i not in second]
            original[family] = await documents(store, ",".join(first))
            rebuilt[family] = await documents(store, ",".join(second))
    finally:
        worker.stop()
        await producer.stop()
        await store.close()

    assert len(original["events"]) == 15
    assert {e["profile"]["id"] for e in original["events"].values()} == {
        "r-a",
        "r-b",
        "r-shop",
        "r-gone",
    }
    for family in ("events", "profiles", "sessions"):
        assert sorted(rebuilt[family]) == sorted(original[family]), family
        for doc_id, doc in original[family].items():
            assert rebuilt[family][doc_id] == doc, (family, doc_id)
    # the summary and the progress count the same messages: every one in the log
    assert progress[-1] == (report.messages, report.messages) == (logged, logged)
    assert all(done <= total for done, total in progress)
