"""Rules, flows and segments run by the worker's profile agent, end to end: profile
changes kept, segment events back through intake, side effects on hw.outbound only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from headwater.core.automation import FLOW_KIND, RULE_KIND, SEGMENT_KIND
from headwater.core.tenancy import events_alias, profiles_alias
from headwater.infra.init import run_init
from headwater.infra.search import connect_search
from headwater.schemas import OUTBOUND_REQUEST
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer
from headwater.streams.topics import Topics
from tests.support.intake import Sender
from tests.support.kafka import read_topic
from tests.support.polling import eventually
from tests.support.processes import start_worker
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e

DAY = datetime(2026, 11, 21, tzinfo=UTC)

FLOW = {
    "nodes": [
        {"id": "start", "action": "start"},
        {"id": "big", "action": "if", "config": {"condition": "event.properties.total > 100"}},
        {"id": "gold", "action": "update-traits", "config": {"traits": {"tier": "gold"}}},
        {"id": "hook", "action": "webhook", "config": {"url": "https://crm.example/hook"}},
    ],
    "edges": [
        {"from": "start", "to": "big"},
        {"from": "big:true", "to": "gold"},
        {"from": "gold", "to": "hook"},
    ],
}
CONFIG = [
    (FLOW_KIND, "big-spender", FLOW),
    (RULE_KIND, "on-purchase", {"flow_id": "big-spender", "event_type": "purchase"}),
    (SEGMENT_KIND, "returning", {"condition": "profile.stats.visits >= 2"}),
]


def purchase(hours: int, total: int) -> dict[str, Any]:
    moment = (DAY + timedelta(hours=hours)).isoformat()
    return {"type": "purchase", "time": {"create": moment}, "properties": {"total": total}}


async def test_flows_and_segments_run_in_the_profile_agent(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path)
    await run_init(settings)
    codec = AvroCodec.default()
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    publisher = ConfigPublisher(settings, codec, producer)
    for kind, entity_id, data in CONFIG:
        await publisher.publish(
            kind=kind,
            tenant="default",
            env="production",
            entity_id=entity_id,
            data=data,
            version=1,
            updated_by="test",
        )
    worker = start_worker(settings, tmp_path / "worker.log")
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    profiles = profiles_alias(settings.index_prefix, "default", "production")
    events = events_alias(settings.index_prefix, "default", "production")
    sender = Sender(settings, producer)
    try:
        await sender.send("shopper", [purchase(9, 40)])  # small: no flow branch, 1 visit
        await sender.send("shopper", [purchase(12, 250)])  # big, and a second visit

        async def done() -> dict[str, Any] | None:
            await store.refresh(profiles)
            found = await store.get(profiles, "shopper")
            # the segment event comes back through intake and is folded in as well
            ready = found and found["stats"]["by_type"].get("segment-entered")
            return found if ready else None

        profile = await eventually(done, timeout=90, every=0.5)

        async def segment_event() -> list[dict[str, Any]] | None:
            await store.refresh(events)
            query = {"term": {"type": "segment-entered"}}
            hits = (await store.search(events, query=query))["hits"]["hits"]
            return [h["_source"] for h in hits] or None

        entered = await eventually(segment_event, timeout=60, every=0.5)
        requests = await read_topic(
            settings.kafka_servers,
            Topics(settings.topic_prefix).outbound,
            OUTBOUND_REQUEST,
            until=lambda records: len(records) >= 1,
            timeout=30,
        )
    finally:
        worker.stop()
        await producer.stop()
        await store.close()

    assert profile["traits"] == {"tier": "gold"}  # only the big purchase took the branch
    assert profile["segments"] == ["returning"]
    assert profile["stats"]["by_type"]["segment-entered"] == 1  # came back through intake
    assert [(e["profile"]["id"], e["properties"]["segment"]) for e in entered] == [
        ("shopper", "returning")
    ]
    assert entered[0]["tags"] == ["injected"]
    [request] = requests
    assert (request["kind"], request["flow_id"], request["profile_id"]) == (
        "http",
        "big-spender",
        "shopper",
    )
    assert orjson.loads(request["target"])["url"] == "https://crm.example/hook"
    assert request["idempotency_key"]
