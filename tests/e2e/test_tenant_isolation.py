"""One tenant must never block another: while tenant A's flow makes outputs that can
never be sent (300 traits of 20,000 characters: a 6 MB profile), tenant B's events, on
the same partition of the same worker, keep their normal latency. Run with -s for the
figures."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from headwater.adapters.search import connect_search
from headwater.commands.init import run_init
from headwater.core.automation import FLOW_KIND, RULE_KIND
from headwater.core.ports.search import SearchStore
from headwater.core.tenancy import events_alias
from headwater.errors import HeadwaterError
from headwater.schemas import DEAD_LETTER, INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer
from headwater.streams.topics import Topics
from tests.support.config import publish_entries
from tests.support.flows import FLOOD, FLOOD_RULE
from tests.support.intake import tracker_batch
from tests.support.kafka import read_topic
from tests.support.polling import eventually
from tests.support.processes import start_worker
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e

CODEC = AvroCodec.default()


class Tenants:
    """Produces /track batches for any tenant straight to intake, as the collector would."""

    def __init__(self, settings: Settings, producer: AckedProducer) -> None:
        self._settings = settings
        self._producer = producer

    async def track(self, tenant: str, profile: str, event: dict[str, Any]) -> str:
        body = {"source": {"id": "src"}, "profile": {"id": profile}, "events": [event]}
        accepted = tracker_batch(self._settings, body, tenant=tenant)
        topic = Topics(self._settings.topic_prefix).intake
        await self._producer.send(topic, CODEC.encode(INTAKE_BATCH, accepted.record), accepted.key)
        return accepted.event_ids[0]


async def visible_after(
    store: SearchStore, settings: Settings, tenants: Tenants, profile: str, timeout: float
) -> float:
    """Seconds from producing one event of tenant B to finding it in search."""
    alias = events_alias(settings.index_prefix, "tb", "production")
    started = time.monotonic()
    event_id = await tenants.track("tb", profile, {"type": "page-view"})

    async def found() -> bool:
        try:
            await store.refresh(alias)
            query = {"ids": {"values": [event_id]}}
            return bool((await store.search(alias, query=query))["hits"]["hits"])
        except HeadwaterError:  # the tenant's indices are made with its first event
            return False

    await eventually(found, timeout=timeout, every=0.05)
    return time.monotonic() - started


async def test_a_tenant_whose_outputs_cannot_be_sent_does_not_slow_another(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path, partitions=1)  # both tenants share it
    await run_init(settings)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    publisher = ConfigPublisher(settings, CODEC, producer)
    flood = [(FLOW_KIND, "flood", FLOOD), (RULE_KIND, "on-flood", FLOOD_RULE)]
    await publish_entries(publisher, flood, tenant="ta")
    worker = start_worker(settings, tmp_path / "worker.log")
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    tenants = Tenants(settings, producer)
    try:
        await visible_after(store, settings, tenants, "warm-up", timeout=90)  # worker ready
        baseline = [await visible_after(store, settings, tenants, "b-1", 30) for _ in range(3)]
        for _ in range(3):  # tenant A: a 6 MB profile, every time
            await tenants.track("ta", "a-1", {"type": "flood", "properties": {"v": "x" * 20_000}})
        under_fault = [await visible_after(store, settings, tenants, "b-2", 60) for _ in range(3)]
        letters = await read_topic(
            settings.kafka_servers,
            Topics(settings.topic_prefix).deadletter,
            DEAD_LETTER,
            until=lambda rs: len(rs) >= 3,
            timeout=30,
        )
    finally:
        worker.stop()
        await producer.stop()
        await store.close()

    normal, faulted = statistics.median(baseline), statistics.median(under_fault)
    print(
        f"\ntenant B latency: baseline {normal:.2f}s (runs {[round(b, 2) for b in baseline]}), "
        f"while tenant A's 6 MB outputs are refused {faulted:.2f}s "
        f"(runs {[round(u, 2) for u in under_fault]})"
    )
    assert max(under_fault) < max(10 * normal, 5.0)
    assert len(letters) == 3
    assert all("over profile_max_bytes" in r["reason"] for r in letters)
