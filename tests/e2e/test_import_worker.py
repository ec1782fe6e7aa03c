"""Imports through the whole worker, on the real broker and search engine.

A Tracardi installation made in the test (profiles, sessions and events written with
Tracardi's field layout to indices named as Tracardi names them) is imported: the
profiles, sessions and events come out in search with Tracardi's ids, linked, the
profile Tracardi had merged merged here too, a bad event reported. Rules and flows
configured for the tenant run for an import only with ``flows`` on (counted on the
outbound topic). Imported again from scratch (``restart``), nothing is stored twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from headwater.adapters.search import connect_search
from headwater.commands.imports import FileSpec, TracardiSpec
from headwater.commands.init import run_init
from headwater.core.automation import FLOW_KIND, RULE_KIND
from headwater.core.ports.search import BulkAction, SearchStore
from headwater.core.tenancy import events_alias, profiles_alias, sessions_alias
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer
from headwater.streams.topics import Topics
from tests.e2e.test_automation import records_in
from tests.support.config import publish_entries
from tests.support.imports import import_into
from tests.support.polling import eventually
from tests.support.processes import start_worker
from tests.support.services import Endpoints, settings_for, unique_prefix

pytestmark = pytest.mark.e2e

HOOK = {
    "nodes": [
        {"id": "start", "action": "start"},
        {"id": "hook", "action": "webhook", "config": {"url": "http://127.0.0.1:9/hook"}},
    ],
    "edges": [{"from": "start", "to": "hook"}],
}
CONFIG = [
    (FLOW_KIND, "hook", HOOK),
    (RULE_KIND, "on-purchase", {"flow_id": "hook", "event_type": "purchase"}),
]
_MAPPING = {  # the parts of Tracardi's index mappings the import sorts and filters on
    "mappings": {
        "properties": {
            "id": {"type": "keyword"},
            "metadata": {"properties": {"time": {"properties": {"insert": {"type": "date"}}}}},
        }
    }
}


def _time(minute: int) -> str:
    return f"2024-03-01T10:{minute:02d}:00"


def _event(event_id: str, kind: str, profile: str, session: str, minute: int) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": kind,
        "name": kind.title(),
        "metadata": {"time": {"insert": _time(minute), "create": _time(minute)}, "valid": True},
        "source": {"id": "tracardi-web"},
        "session": {"id": session, "start": _time(0), "duration": 0},
        "profile": {"id": profile},
        "properties": {"total": 120} if kind == "purchase" else {"url": f"/{event_id}"},
        "context": {"page": {"title": event_id}},
        "tags": {"values": ["web"], "count": 1},
        "os": {"name": "Linux"},
    }


PROFILES = [
    {
        "id": "tp-1",
        "ids": ["tp-1", "tp-old"],  # Tracardi merged tp-old into tp-1
        "metadata": {"time": {"insert": _time(0), "update": _time(1)}},
        "traits": {"plan": "gold"},
        "data": {"contact": {"email": {"main": "ada@example.com"}}, "pii": {"firstname": "Ada"}},
    },
    {
        "id": "tp-2",
        "ids": ["tp-2"],
        "metadata": {"time": {"insert": _time(0)}},
        "traits": {"plan": "free"},
    },
]
SESSIONS = [
    {
        "id": "ts-1",
        "profile": {"id": "tp-1"},
        "metadata": {"time": {"insert": _time(2)}},
        "device": {"type": "desktop"},
        "context": {"browser": {"name": "Firefox"}},
    },
    {"id": "ts-2", "profile": {"id": "tp-2"}, "metadata": {"time": {"insert": _time(3)}}},
]
EVENTS = [
    _event("te-1", "page-view", "tp-1", "ts-1", 2),
    _event("te-2", "purchase", "tp-1", "ts-1", 3),
    _event("te-3", "page-view", "tp-old", "ts-1", 4),
    _event("te-4", "page-view", "tp-2", "ts-2", 5),
    _event("te-5", "purchase", "tp-2", "ts-2", 6),
    {"id": "te-bad", "metadata": {"time": {"insert": _time(7)}}, "profile": {"id": "tp-2"}},
]


async def _tracardi(settings: Settings, endpoints: Endpoints, prefix: str) -> None:
    """Tracardi's indices, as Tracardi names them (monthly event index), with documents."""
    url = settings.search_hosts[0].rstrip("/")
    async with httpx.AsyncClient() as http:
        for name in ("tracardi-profile", "tracardi-session", "tracardi-event-2024-3"):
            (await http.put(f"{url}/{prefix}{name}", json=_MAPPING)).raise_for_status()
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    try:
        actions = [
            BulkAction(f"{prefix}{index}", doc["id"], doc, op="index")
            for index, docs in (
                ("tracardi-profile", PROFILES),
                ("tracardi-session", SESSIONS),
                ("tracardi-event-2024-3", EVENTS),
            )
            for doc in docs
        ]
        outcome = await store.bulk(actions)
        assert outcome.written == len(actions), outcome
        for index in ("tracardi-profile", "tracardi-session", "tracardi-event-2024-3"):
            await store.refresh(f"{prefix}{index}")
    finally:
        await store.close()


async def _count(store: SearchStore, alias: str, query: dict[str, Any] | None = None) -> int:
    await store.refresh(alias)
    return await store.count(alias, query)


async def test_a_tracardi_installation_imports_linked_and_flows_run_only_when_asked(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path)
    source = (await run_init(settings)).sources[settings.env]
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    try:
        await publish_entries(ConfigPublisher(settings, AvroCodec.default(), producer), CONFIG)
    finally:
        await producer.stop()
    tracardi_prefix = f"{unique_prefix()}."
    await _tracardi(settings, endpoints, tracardi_prefix)
    spec = TracardiSpec(url=settings.search_hosts[0], index_prefix=tracardi_prefix)

    summary = await import_into(settings, spec, source, tmp_path / "state")
    assert (summary.read, summary.imported, summary.rejected) == (8, 7, 1)
    assert summary.rejects[0]["where"] == "event te-bad"
    assert "no type" in summary.rejects[0]["reason"]
    # a file with flows on: its purchase runs the configured flow
    flowing = tmp_path / "flowing.ndjson"
    flowing.write_bytes(orjson.dumps({"type": "purchase", "id": "f-1", "profile": {"id": "f"}}))
    on = await import_into(
        settings, FileSpec(flowing, "headwater"), source, tmp_path / "s2", flows=True
    )
    assert on.imported == 1

    worker = start_worker(settings, tmp_path / "worker.log")
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    events = events_alias(settings.index_prefix, "default", settings.env)
    profiles = profiles_alias(settings.index_prefix, "default", settings.env)
    sessions = sessions_alias(settings.index_prefix, "default", settings.env)
    try:

        async def stored() -> bool:
            return await _count(store, events, {"terms": {"id": ["te-5", "f-1"]}}) == 2

        await eventually(stored, timeout=120, every=0.5)

        async def merged() -> dict[str, Any] | None:
            await store.refresh(profiles)
            found = await store.get(profiles, "tp-1")
            return found if found and "tp-old" in found["ids"] else None

        tp1 = await eventually(merged, timeout=60, every=0.5)
        # profile-update, alias, te-1, te-2, and te-3 of the profile Tracardi merged in
        by_type = {"profile-update": 1, "alias": 1, "page-view": 2, "purchase": 1}
        assert tp1["stats"]["by_type"] == by_type
        imported_events = {"terms": {"id": ["te-1", "te-2", "te-3", "te-4", "te-5"]}}
        assert await _count(store, events, imported_events) == 5
        hits = (await store.search(events, query={"term": {"id": "te-1"}}))["hits"]["hits"]
        te1 = hits[0]["_source"]
        assert te1["profile"]["id"] == "tp-1" and te1["session"]["id"] == "ts-1"
        assert te1["context"]["browser"] == {"name": "Firefox"}  # from Tracardi's session
        assert te1["time"]["create"].startswith("2024-03-01T10:02:00")
        assert tp1["traits"]["plan"] == "gold"
        assert tp1["data"]["contact"]["email"] == "ada@example.com"
        await store.refresh(sessions)
        session_hits = await store.search(sessions, query={"terms": {"id": ["ts-1", "ts-2"]}})
        linked = {
            h["_source"]["id"]: h["_source"]["profile"]["id"] for h in session_hits["hits"]["hits"]
        }
        assert linked == {"ts-1": "tp-1", "ts-2": "tp-2"}
        # flows off for the Tracardi import (2 purchases), on for the file (1 purchase)
        outbound = Topics(settings.topic_prefix).outbound
        assert await records_in(settings, outbound, quiet=2.0) == 1

        # the same import from scratch: the same records, nothing stored twice
        again = await import_into(settings, spec, source, tmp_path / "state", restart=True)
        assert again.imported == 7

        async def caught_up() -> bool:
            found = await store.get(profiles, "tp-2")
            return bool(found) and found["version"] > 0

        await eventually(caught_up, timeout=30)
        assert await _count(store, events, imported_events) == 5
        tp2_before = await store.get(profiles, "tp-2")
        await records_in(settings, Topics(settings.topic_prefix).events, quiet=3.0)
        await store.refresh(profiles)
        tp2 = await store.get(profiles, "tp-2")
        assert tp2 is not None and tp2_before is not None
        assert tp2["stats"]["events"] == 3  # profile-update + 2 events, not twice that
    finally:
        worker.stop()
        await store.close()
