"""The public collector against a real broker: contract, statuses, what lands on Kafka."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from headwater.commands.init import InitResult
from headwater.schemas import INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.topics import Topics
from tests.support.kafka import read_topic

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SAMPLE = (Path(__file__).parent.parent / "data" / "tracker-track.json").read_text()


def tracker_body(source_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": {"id": source_id},
        "session": None,
        "profile": None,
        "context": {"page": {"url": "https://shop.example/"}, "utm": {"source": "newsletter"}},
        "events": [{"type": "page-view", "properties": {"title": "Home"}}],
    }
    body.update(changes)
    return body


@pytest.fixture
def source_id(initialized: InitResult, shared_settings: Settings) -> str:
    return initialized.sources[shared_settings.env]


@pytest.fixture
def settings(shared_settings: Settings) -> Settings:
    return shared_settings


async def test_track_assigns_ids_and_writes_one_batch(
    collector: str, source_id: str, settings: Settings
) -> None:
    async with httpx.AsyncClient(base_url=collector) as http:
        response = await http.post("/track", json=tracker_body(source_id))
    assert response.status_code == 200
    answer = response.json()
    profile_id, session_id = answer["profile"]["id"], answer["session"]["id"]
    assert profile_id and session_id and len(answer["events"]) == 1
    assert set(answer) >= {"profile", "session", "events", "ux", "response", "errors", "task"}

    records = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).intake,
        INTAKE_BATCH,
        until=lambda rs: any(r["profile_id"] == profile_id for r in rs),
    )
    batch = next(r for r in records if r["profile_id"] == profile_id)
    assert batch["_key"] == f"default:production:{profile_id}".encode()
    assert batch["session_id"] == session_id
    assert batch["profile_assigned"] and batch["session_assigned"]
    assert batch["tenant"] == "default" and batch["env"] == settings.env
    assert [e["id"] for e in batch["events"]] == answer["events"]
    assert orjson.loads(batch["events"][0]["properties"]) == {"title": "Home"}
    assert orjson.loads(batch["context"])["utm"] == {"source": "newsletter"}


async def test_track_keeps_ids_the_tracker_sent(collector: str, source_id: str) -> None:
    body = tracker_body(source_id, profile={"id": "p-1"}, session={"id": "s-1"})
    body["events"][0]["id"] = "event-1"
    async with httpx.AsyncClient(base_url=collector) as http:
        answer = (await http.post("/track", json=body)).json()
    assert answer["profile"] == {"id": "p-1"}
    assert answer["session"] == {"id": "s-1"}
    assert answer["events"] == ["event-1"]


async def test_real_tracker_sample_is_accepted(collector: str, source_id: str) -> None:
    body = SAMPLE.replace("REPLACE-WITH-SOURCE-ID", source_id)
    async with httpx.AsyncClient(base_url=collector) as http:
        response = await http.post(
            "/track",
            content=body,
            headers={"content-type": "application/json", "x-timestamp": "1795917500"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["profile"]["id"]


async def test_profile_less_track_returns_no_profile(collector: str, source_id: str) -> None:
    async with httpx.AsyncClient(base_url=collector) as http:
        answer = (await http.post("/track?profile_less=true", json=tracker_body(source_id))).json()
    assert answer["profile"] is None


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, None),
        (b"\xff\xfe", 400, None),
        (b"[1, 2]", 422, "body"),
        (b'{"events": [{"type": "x"}]}', 422, "source"),
        (b'{"source": {"id": "SRC"}, "events": []}', 422, "events"),
        (b'{"source": {"id": "SRC"}, "events": [{"type": "   "}]}', 422, "events[0].type"),
        (b'{"source": {"id": "SRC"}, "events": [{"type": 5}]}', 422, "events[0].type"),
        (
            b'{"source": {"id": "SRC"}, "events": [{"type": "a", "properties": []}]}',
            422,
            "events[0].properties",
        ),
        (
            b'{"source": {"id": "SRC"}, "events": [{"type": "a", "properties": {"n": 1e999}}]}',
            400,
            None,
        ),
        (b'{"source": {"id": "unknown"}, "events": [{"type": "a"}]}', 401, "source.id"),
    ],
)
async def test_bad_input_gets_a_4xx_with_the_reason(
    collector: str, source_id: str, body: bytes, status: int, field: str | None
) -> None:
    body = body.replace(b"SRC", source_id.encode())
    async with httpx.AsyncClient(base_url=collector) as http:
        response = await http.post(
            "/track", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["error"]
    if field is not None:
        assert answer["field"] == field


async def test_a_form_body_is_told_that_json_is_expected(collector: str, source_id: str) -> None:
    async with httpx.AsyncClient(base_url=collector) as http:
        response = await http.post("/track", data={"source": source_id, "type": "page-view"})
    assert response.status_code == 400
    assert "expected a JSON body (content-type application/json)" in response.json()["error"]


async def test_oversize_request_and_event_get_413(
    collector: str, source_id: str, settings: Settings
) -> None:
    big_event = tracker_body(source_id)
    big_event["events"][0]["properties"] = {"blob": "x" * (settings.max_event_bytes + 10)}
    too_many = tracker_body(source_id)
    too_many["events"] = [{"type": "t", "properties": {"blob": "y" * 20_000}}] * 30
    async with httpx.AsyncClient(base_url=collector) as http:
        event_answer = await http.post("/track", json=big_event)
        request_answer = await http.post("/track", json=too_many)

        async def chunks():  # no Content-Length: the limit applies while streaming
            for _ in range(40):
                yield b"z" * 16_384

        streamed = await http.post(
            "/track", content=chunks(), headers={"content-type": "application/json"}
        )
    assert event_answer.status_code == 413 and event_answer.json()["field"] == "events[0]"
    assert request_answer.status_code == 413
    assert streamed.status_code == 413


async def test_collect_takes_query_json_and_form(
    collector: str, source_id: str, settings: Settings
) -> None:
    async with httpx.AsyncClient(base_url=collector) as http:
        by_query = await http.get(f"/collect/signup/{source_id}", params={"email": "a@b.c"})
        by_json = await http.post(f"/collect/order/{source_id}/sess-1", json={"total": 12.5})
        by_form = await http.post(f"/collect/lead/{source_id}", data={"tag": ["x", "y"]})
        not_object = await http.post(f"/collect/lead/{source_id}", json=[1])
        unknown = await http.get("/collect/signup/nope")
    assert [r.status_code for r in (by_query, by_json, by_form)] == [200, 200, 200]
    assert by_json.json()["session"] == {"id": "sess-1"}
    assert not_object.status_code == 422
    assert unknown.status_code == 401

    ids = {r.json()["events"][0] for r in (by_query, by_json, by_form)}
    records = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).intake,
        INTAKE_BATCH,
        until=lambda rs: ids <= {e["id"] for r in rs for e in r["events"]},
    )
    events = {e["id"]: (r, e) for r in records for e in r["events"] if e["id"] in ids}
    properties = {e["type"]: orjson.loads(e["properties"]) for _, e in events.values()}
    assert properties == {
        "signup": {"email": "a@b.c"},
        "order": {"total": 12.5},
        "lead": {"tag": ["x", "y"]},
    }
    profile_less = {e["type"]: r["profile_less"] for r, e in events.values()}
    assert profile_less == {"signup": True, "order": False, "lead": True}


async def test_unknown_routes_and_methods_answer_json(collector: str) -> None:
    async with httpx.AsyncClient(base_url=collector) as http:
        missing = await http.get("/admin")
        wrong_method = await http.get("/track")
    assert (missing.status_code, missing.json()) == (404, {"error": "Not Found"})
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]


async def test_blank_client_ids_count_as_missing(collector: str, source_id: str) -> None:
    body = tracker_body(source_id, profile={"id": ""}, session={"id": ""})
    body["events"][0]["id"] = ""
    async with httpx.AsyncClient(base_url=collector) as http:
        answer = (await http.post("/track", json=body)).json()
    assert answer["profile"]["id"] and answer["session"]["id"] and answer["events"][0]


async def test_cors_preflight_allows_trackers(collector: str) -> None:
    async with httpx.AsyncClient(base_url=collector) as http:
        response = await http.options(
            "/track",
            headers={
                "origin": "https://shop.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type, x-timestamp",
            },
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://shop.example")
    assert "x-timestamp" in response.headers["access-control-allow-headers"].lower()


async def test_health_and_readiness(collector: str) -> None:
    async with httpx.AsyncClient(base_url=collector) as http:
        live = await http.get("/health")
        ready = await http.get("/health/ready")
    assert live.status_code == 200
    assert ready.status_code == 200 and ready.json() == {
        "status": "ready",
        "kafka": True,
        "config": True,
    }


async def test_only_collection_and_health_routes_exist(collector: str) -> None:
    async with httpx.AsyncClient(base_url=collector) as http:
        document = (await http.get("/openapi.json")).json()
        for path in ("/docs", "/redoc", "/user/token", "/tenants"):
            assert (await http.get(path)).status_code == 404
    assert set(document["paths"]) == {
        "/track",
        "/collect/{event_type}/{source_id}",
        "/collect/{event_type}/{source_id}/{session_id}",
        "/health",
        "/health/ready",
        *(f"/v1/{kind}" for kind in ("track", "identify", "page", "screen", "group", "alias")),
        "/v1/batch",
        "/redirect/{redirect_id}",
    }
    schemas = document["components"]["schemas"]
    assert "TrackerPayload" in schemas and "TrackResponse" in schemas
    assert "SegmentMessage" in schemas and "SegmentBatch" in schemas
    json.dumps(document)  # the document is plain JSON
