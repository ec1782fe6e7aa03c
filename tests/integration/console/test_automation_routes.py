"""Flows, rules and segments through the private API: checked with the agent's own
parsers, a debug run, and segment members found by search."""

from __future__ import annotations

import pytest

from headwater.core.automation import FLOW_KIND
from headwater.core.ports.search import BulkAction
from headwater.core.tenancy import generation_index, profiles_alias
from tests.integration.console.conftest import Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

FLOW = {
    "name": "tag big spenders",
    "nodes": [
        {"id": "start", "action": "start"},
        {"id": "big", "action": "if", "config": {"condition": "event.properties.total > 100"}},
        {"id": "gold", "action": "update-traits", "config": {"traits": {"tier": "gold"}}},
    ],
    "edges": [{"from": "start", "to": "big"}, {"from": "big:true", "to": "gold"}],
}


async def test_flows_rules_and_segments_are_checked_and_deployed(api: Api) -> None:
    await api.tenant("auto_a")
    admin = await api.token("admin@auto_a.example")

    flow = await api.http.post("/flows", headers=admin, json=FLOW)
    assert flow.status_code == 201, flow.text
    rule = await api.http.post(
        "/rules",
        headers=admin,
        json={"flow_id": flow.json()["id"], "event_type": "purchase", "consents": ["mail"]},
    )
    assert rule.status_code == 201, rule.text
    cyclic = {
        "nodes": [
            {"id": "start", "action": "start"},
            {"id": "a", "action": "merge"},
            {"id": "b", "action": "merge"},
        ],
        "edges": [{"from": "start", "to": "a"}, {"from": "a", "to": "b"}, {"from": "b", "to": "a"}],
    }
    refused = await api.http.post("/flows", headers=admin, json=cyclic)
    assert refused.status_code == 422
    assert "cycle" in refused.text
    bad_rule = await api.http.post(
        "/rules", headers=admin, json={"flow_id": "f", "event_type": "x", "condition": "a ="}
    )
    assert bad_rule.status_code == 422 and "condition" in bad_rule.text

    deployed = await api.http.post(f"/flows/{flow.json()['id']}/deploy", headers=admin)
    assert deployed.status_code == 200
    live = [
        e
        for e in api.runtime.config.entries(FLOW_KIND)
        if e.tenant == "auto_a" and e.env == "production"
    ]
    assert [e.id for e in live] == [flow.json()["id"]]


async def test_a_debug_run_shows_every_node_and_keeps_nothing(api: Api) -> None:
    await api.tenant("auto_b")
    admin = await api.token("admin@auto_b.example")

    ran = await api.http.post(
        "/flows/debug",
        headers=admin,
        json={"flow": FLOW, "event": {"properties": {"total": 250}}, "profile": {"traits": {}}},
    )

    assert ran.status_code == 200, ran.text
    result = ran.json()["result"]
    assert result["profile"]["traits"] == {"tier": "gold"}
    assert [t["node_id"] for t in result["trace"]] == ["start", "big", "gold"]
    assert all(t["duration_ms"] is not None and t["error"] is None for t in result["trace"])
    assert result["trace"][1]["output"][0]["port"] == "true"
    assert (await api.http.get("/flows", headers=admin)).json() == []


async def test_segment_members_come_from_search(api: Api) -> None:
    await api.tenant("auto_c")
    admin = await api.token("admin@auto_c.example")
    prefix = api.settings.index_prefix
    index = generation_index(profiles_alias(prefix, "auto_c", "staging"))
    documents = [
        {"id": f"v{n}", "tenant": "auto_c", "env": "staging", "stats": {"visits": n}}
        for n in range(5)
    ]
    outcome = await api.runtime.search.bulk(
        [BulkAction(index, d["id"], d, op="index") for d in documents]
    )
    assert outcome.written == 5
    await api.runtime.search.refresh(index)
    segment = await api.http.post(
        "/segments", headers=admin, json={"name": "loyal", "condition": "profile.stats.visits >= 3"}
    )
    assert segment.status_code == 201, segment.text

    found = await api.http.get(f"/segments/{segment.json()['id']}/members", headers=admin)

    assert found.status_code == 200, found.text
    assert found.json()["total"] == 2
    assert found.json()["profiles"] == ["v3", "v4"]
