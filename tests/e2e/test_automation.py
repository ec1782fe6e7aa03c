"""Rules, flows and segments run by the worker's profile agent, end to end: profile
changes kept, segment events back through intake, side effects on hw.outbound only."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from headwater.adapters.search import connect_search
from headwater.agents.replay import ReplayPlan, run_replay
from headwater.commands.init import run_init
from headwater.core.automation import FLOW_KIND, RULE_KIND, SEGMENT_KIND
from headwater.core.tenancy import events_alias, profiles_alias
from headwater.schemas import OUTBOUND_REQUEST
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer, partitions_of
from headwater.streams.topics import Topics
from tests.support.config import publish_entries
from tests.support.intake import Sender
from tests.support.kafka import read_topic
from tests.support.polling import eventually
from tests.support.processes import start_worker
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e

DAY = datetime(2026, 11, 21, tzinfo=UTC)

FLOW = {  # branches and a join: every purchase is counted, big ones also tier and tag
    "nodes": [
        {"id": "start", "action": "start"},
        {"id": "big", "action": "if", "config": {"condition": "event.properties.total > 100"}},
        {"id": "gold", "action": "update-traits", "config": {"traits": {"tier": "gold"}}},
        {"id": "tag", "action": "add-segment", "config": {"segment": "big-spenders"}},
        {"id": "count", "action": "increment-counter", "config": {"counter": "purchases"}},
        {"id": "join", "action": "merge"},
        {"id": "hook", "action": "webhook", "config": {"url": "https://crm.example/hook"}},
    ],
    "edges": [
        {"from": "start", "to": "big"},
        {"from": "big:true", "to": "gold"},
        {"from": "gold", "to": "tag"},
        {"from": "start", "to": "count"},
        {"from": "tag", "to": "join"},
        {"from": "count", "to": "join"},
        {"from": "join", "to": "hook"},
    ],
}
WELCOME = {  # triggered by the segment-entered event the first flow's effects cause
    "nodes": [
        {"id": "start", "action": "start"},
        {"id": "mark", "action": "update-traits", "config": {"traits": {"welcomed": True}}},
    ],
    "edges": [{"from": "start", "to": "mark"}],
}
CONFIG = [
    (FLOW_KIND, "big-spender", FLOW),
    (FLOW_KIND, "welcome-back", WELCOME),
    (RULE_KIND, "on-purchase", {"flow_id": "big-spender", "event_type": "purchase"}),
    (RULE_KIND, "on-returning", {"flow_id": "welcome-back", "event_type": "segment-entered"}),
    (SEGMENT_KIND, "returning", {"condition": "profile.stats.visits >= 2"}),
]


async def records_in(settings: Settings, topic: str, quiet: float = 3.0) -> int:
    """Every record of ``topic``, read until nothing new came for ``quiet`` seconds (end
    offsets are not used: the embedded broker misreports them for batches)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_servers)
    await consumer.start()
    count = 0
    try:
        partitions = [TopicPartition(topic, p) for p in await partitions_of(settings, topic)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < quiet:
            fetched = await consumer.getmany(timeout_ms=200)
            got = sum(len(batch) for batch in fetched.values())
            if got:
                count += got
                idle_since = time.monotonic()
    finally:
        await consumer.stop()
    return count


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
    await publish_entries(publisher, CONFIG)
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
            # the segment event comes back through intake and triggers the second flow
            ready = found and found["traits"].get("welcomed")
            return found if ready else None

        profile = await eventually(done, timeout=90, every=0.5)

        async def segment_event() -> list[dict[str, Any]] | None:
            await store.refresh(events)
            query = {"term": {"type": "segment-entered"}}
            hits = (await store.search(events, query=query))["hits"]["hits"]
            return [h["_source"] for h in hits] or None

        entered = await eventually(segment_event, timeout=60, every=0.5)
        outbound = Topics(settings.topic_prefix).outbound
        requests = await read_topic(
            settings.kafka_servers,
            outbound,
            OUTBOUND_REQUEST,
            until=lambda records: len(records) >= 2,
            timeout=30,
        )
        live = profile
        report = await run_replay(
            settings, ReplayPlan(follow_seconds=2), node_class=endpoints.es_node_class
        )
        await store.refresh(profiles)
        rebuilt = await store.get(profiles, "shopper")
        # the flow changes after the events: a replay can run it as it was or as it is
        platinum = {**FLOW, "nodes": [*FLOW["nodes"]]}
        platinum["nodes"][2] = {
            "id": "gold",
            "action": "update-traits",
            "config": {"traits": {"tier": "platinum"}},
        }
        await publisher.publish(
            kind=FLOW_KIND,
            tenant="default",
            env="production",
            entity_id="big-spender",
            data=platinum,
            version=2,
            updated_by="test",
        )
        replays = {}
        for flows in ("recorded", "now"):
            plan = ReplayPlan(follow_seconds=1, flows=flows)  # type: ignore[arg-type]
            await run_replay(settings, plan, node_class=endpoints.es_node_class)
            await store.refresh(profiles)
            replays[flows] = await store.get(profiles, "shopper")
        sent = await records_in(settings, outbound)
    finally:
        worker.stop()
        await producer.stop()
        await store.close()

    # only the big purchase took the branch; both were counted; the second flow ran
    assert profile["traits"] == {"tier": "gold", "welcomed": True}
    assert profile["data"]["counters"] == {"purchases": 2}
    assert sorted(profile["segments"]) == ["big-spenders", "returning"]
    assert profile["stats"]["by_type"]["segment-entered"] == 1  # came back through intake
    assert [(e["profile"]["id"], e["properties"]["segment"]) for e in entered] == [
        ("shopper", "returning")
    ]
    assert entered[0]["tags"] == ["injected"]
    assert [(r["kind"], r["flow_id"], r["profile_id"]) for r in requests] == [
        ("http", "big-spender", "shopper")
    ] * 2
    assert orjson.loads(requests[0]["target"])["url"] == "https://crm.example/hook"
    assert len({r["idempotency_key"] for r in requests}) == 2
    # a replay rebuilds the same profile, flows included, and requests nothing
    assert report.generations == {"default/production": 2}
    assert rebuilt == live
    assert replays["recorded"] == live  # the flow as it was when the events came
    assert replays["now"] is not None and replays["now"]["traits"]["tier"] == "platinum"
    assert sent == 2
