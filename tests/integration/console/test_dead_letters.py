"""``/dead-letters``, ``/destinations`` and ``/workers/lag``: a tenant sees its own dead
letters of the context and never another tenant's, written as the stages write them to
the one shared topic; its flows' outbound nodes; the worker's lag per partition."""

from __future__ import annotations

import asyncio

import pytest

from headwater.core.tenancy import profile_key
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.topics import Topics
from tests.integration.console.conftest import Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def _dead_letter(api: Api, stage: str, key: bytes | None, payload: bytes) -> None:
    topic = Topics(api.settings.topic_prefix).deadletter

    async def send(key: bytes | None, value: bytes) -> None:
        await api.runtime.producer.send(topic, value, key)

    dead = DeadLetters(AvroCodec.default(), stage, send)
    await dead.record(SourceMessage("hw.outbound", 0, 3, key, payload), f"{stage} gave up")
    await asyncio.sleep(0.002)  # "newest first" is by failed_at, in milliseconds


async def test_a_tenant_lists_its_own_dead_letters_only(api: Api) -> None:
    mine = await api.roles("dl_a")
    theirs = await api.roles("dl_b")
    await _dead_letter(api, "destinations", profile_key("dl_a", "production", "p1"), b'{"n":1}')
    await _dead_letter(api, "profile", profile_key("dl_a", "staging", "p1"), b"text")
    await _dead_letter(api, "storage", profile_key("dl_b", "production", "p9"), b"secret-b")
    await _dead_letter(api, "identity", b"dl_a/production:email:0a1b", b"\xff\x00")
    await _dead_letter(api, "profile", None, b"no key")  # nobody's: never shown

    answer = await api.http.get("/dead-letters", headers=mine["marketer"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["total"], body["context"]) == (2, "production")
    letters = body["dead_letters"]
    assert [d["stage"] for d in letters] == ["identity", "destinations"]  # newest first
    assert letters[1]["payload"] == '{"n":1}' and letters[1]["reason"] == "destinations gave up"
    assert letters[0]["payload"] == "base64:/wA="
    assert (letters[1]["topic"], letters[1]["partition"], letters[1]["offset"]) == (
        "hw.outbound",
        0,
        3,
    )

    staging = await api.http.get("/dead-letters", headers={**mine["admin"], "x-context": "staging"})
    assert [d["payload"] for d in staging.json()["dead_letters"]] == ["text"]
    other = (await api.http.get("/dead-letters", headers=theirs["admin"])).json()
    assert [d["payload"] for d in other["dead_letters"]] == ["secret-b"]
    assert "secret-b" not in answer.text

    sized = (await api.http.get("/dead-letters?size=1", headers=mine["admin"])).json()
    assert (sized["total"], len(sized["dead_letters"])) == (2, 1)
    assert (
        await api.http.get("/dead-letters?tenant=dl_b", headers=mine["admin"])
    ).status_code == 422


async def test_destinations_are_the_outbound_nodes_of_the_contexts_flows(api: Api) -> None:
    roles = await api.roles("dest_a")
    await api.roles("dest_b")
    flow = {
        "name": "notify",
        "nodes": [
            {"id": "start", "action": "start"},
            {"id": "hook", "action": "webhook", "config": {"url": "https://hooks.example.com/a"}},
        ],
        "edges": [{"from": "start", "to": "hook"}],
    }
    made = await api.http.post("/flows", headers=roles["developer"], json=flow)
    assert made.status_code == 201, made.text

    listed = await api.http.get("/destinations", headers=roles["marketer"])
    assert listed.status_code == 200, listed.text
    assert listed.json() == [
        {
            "kind": "http",
            "target": "https://hooks.example.com/a",
            "used_by": [
                {
                    "flow_id": made.json()["id"],
                    "flow_name": "notify",
                    "node_id": "hook",
                    "action": "webhook",
                }
            ],
        }
    ]
    production = {**roles["admin"], "x-context": "production"}
    assert (await api.http.get("/destinations", headers=production)).json() == []
    other = await api.token("admin@dest_b.example")
    assert (await api.http.get("/destinations", headers=other)).json() == []


async def test_worker_lag_per_partition_of_the_topics_it_reads(api: Api) -> None:
    roles = await api.roles("lag_a")
    topics = Topics(api.settings.topic_prefix)
    await api.runtime.producer.send(topics.outbound, b"x", b"lag_a:production:p1")

    answer = await api.http.get("/workers/lag", headers=roles["marketer"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["group"] == api.settings.worker_id
    outbound = [p for p in body["partitions"] if p["topic"] == topics.outbound]
    assert len(outbound) == api.settings.partitions
    assert sum(p["lag"] for p in outbound) >= 1  # no worker runs here: nothing committed
    assert all(p["committed"] is None and p["lag"] == p["end"] for p in outbound)
    assert body["lag"] == sum(p["lag"] for p in body["partitions"])
    assert {p["topic"] for p in body["partitions"]} == set(topics.consumed)
