"""Nothing lost, nothing twice: the worker is killed (SIGKILL) while events flow and
restarted; afterwards the search engine holds every event exactly once and every
profile's counters equal what was sent."""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path

import pytest

from headwater.adapters.search import connect_search
from headwater.commands.embedded import ManagedProcess
from headwater.commands.init import run_init
from headwater.core.ports.search import SearchStore
from headwater.core.tenancy import events_alias, profiles_alias
from headwater.schemas import INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.kafka import AckedProducer
from headwater.streams.topics import Topics
from tests.support.intake import tracker_batch
from tests.support.polling import eventually
from tests.support.processes import start_worker
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e

MESSAGES = 5000  # 20,000 events
EVENTS_PER_MESSAGE = 4


PROFILES = 50


async def produce(settings: Settings, count: int) -> set[str]:
    """Intake batches as the collector writes them, at a steady pace; returns event ids."""
    codec = AvroCodec.default()
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    topic = Topics(settings.topic_prefix).intake
    ids: set[str] = set()
    try:
        for n in range(count):
            body = {
                "source": {"id": "src"},
                "profile": {"id": f"p{n % PROFILES}"},
                "events": [{"type": f"t{i}", "properties": {"n": n}} for i in range(4)],
            }
            accepted = tracker_batch(settings, body, received_at=1_795_900_000_000 + n)
            await producer.send(topic, codec.encode(INTAKE_BATCH, accepted.record), accepted.key)
            ids.update(accepted.event_ids)
            if n % 100 == 0:
                await asyncio.sleep(0.1)  # keep events flowing across the kills
    finally:
        await producer.stop()
    return ids


async def _ready(worker: ManagedProcess) -> bool:
    assert worker.log_path is not None and worker.running
    return worker.log_path.exists() and "Worker ready" in worker.log_path.read_text()


async def stored(store: SearchStore, alias: str) -> int:
    await store.refresh(alias)
    return await store.count(alias)


async def test_sigkilled_worker_loses_and_duplicates_nothing(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path)
    await run_init(settings)
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    alias = events_alias(settings.index_prefix, "default", "production")
    producing = asyncio.create_task(produce(settings, MESSAGES))
    worker = start_worker(settings, tmp_path / "worker-0.log", HEADWATER_STAGE_BATCH_MESSAGES="50")
    rng = random.Random(7)
    at_kills: list[int] = []
    try:
        for kill in range(3):
            # each worker is killed while it works: after it is ready and has stored more
            await eventually(lambda current=worker: _ready(current), timeout=60, every=0.2)
            floor = await stored(store, alias)
            target = floor + rng.randint(200, 900)

            async def progressed(target: int = target) -> bool:
                return await stored(store, alias) >= target or producing.done()

            await eventually(progressed, timeout=120, every=0.2)
            at_kills.append(await stored(store, alias))
            worker.popen.send_signal(signal.SIGKILL)
            worker.popen.wait(10)
            worker = start_worker(
                settings, tmp_path / f"worker-{kill + 1}.log", HEADWATER_STAGE_BATCH_MESSAGES="50"
            )

        ids = await asyncio.wait_for(producing, 120)
        assert len(ids) == MESSAGES * EVENTS_PER_MESSAGE

        async def complete() -> bool:
            return await stored(store, alias) >= len(ids)

        try:
            await eventually(complete, timeout=180, every=0.5)
        except AssertionError:
            log = worker.log_path.read_text()[-3000:] if worker.log_path else ""
            count = await stored(store, alias)
            raise AssertionError(
                f"{count} of {len(ids)} events stored; worker log:\n{log}"
            ) from None
        assert await stored(store, alias) == len(ids)  # exactly once: no extra documents
        assert all(0 < n < len(ids) for n in at_kills), at_kills  # killed mid-stream
        sample = rng.sample(sorted(ids), 50)
        found = await store.search(alias, query={"ids": {"values": sample}}, size=100)
        assert sorted(h["_id"] for h in found["hits"]["hits"]) == sorted(sample)

        # Profiles: counters exact, per profile and per type, after three crashes.
        profiles = profiles_alias(settings.index_prefix, "default", "production")
        per_profile = MESSAGES // PROFILES * EVENTS_PER_MESSAGE
        expected_types = {f"t{i}": MESSAGES // PROFILES for i in range(EVENTS_PER_MESSAGE)}

        last: list[dict] = []

        async def counted() -> list[dict] | None:
            await store.refresh(profiles)
            hits = (await store.search(profiles, size=100))["hits"]["hits"]
            last[:] = [h["_source"] for h in hits]
            done = len(last) == PROFILES and all(d["version"] == per_profile for d in last)
            return last if done else None

        try:
            docs = await eventually(counted, timeout=90, every=0.5)
        except AssertionError:
            versions = sorted(d["version"] for d in last)
            raise AssertionError(f"{len(last)} profiles, versions {versions}") from None
        assert {d["stats"]["events"] for d in docs} == {per_profile}
        assert all(d["stats"]["by_type"] == expected_types for d in docs)
    finally:
        worker.stop()
        producing.cancel()
        await store.close()
