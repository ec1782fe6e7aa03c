"""The Segment-compatible routes of the real collector against a real broker."""

from __future__ import annotations

import base64
import gzip
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from headwater.commands.init import InitResult
from headwater.schemas import INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.topics import Topics
from tests.support.config import publish_source
from tests.support.kafka import read_topic
from tests.support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

CALLS: dict[str, dict[str, Any]] = {
    "track": {"event": "Order Completed", "properties": {"total": 30}},
    "identify": {"traits": {"email": "ada@example.com"}},
    "page": {"name": "Home", "properties": {"url": "https://shop.example/"}},
    "screen": {"name": "Cart"},
    "group": {"groupId": "g-1", "traits": {"plan": "pro"}},
    "alias": {"previousId": "old-id"},
}
EXPECTED_TYPES = {
    "track": "Order Completed",
    "identify": "identify",
    "page": "page-view",
    "screen": "screen-view",
    "group": "group",
    "alias": "alias",
}


@pytest.fixture
def settings(shared_settings: Settings) -> Settings:
    return shared_settings


@pytest.fixture
def write_key(initialized: InitResult, shared_settings: Settings) -> str:
    return initialized.write_keys[shared_settings.env]


def basic(key: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def events_on_topic(settings: Settings, wanted: set[str]) -> dict[str, dict[str, Any]]:
    """Events whose ``options.segment.messageId`` is in ``wanted``, by message id, with
    the record's fields they came in."""

    def message_id(event: dict[str, Any]) -> str | None:
        segment = orjson.loads(event["options"]).get("segment", {})
        return segment.get("messageId") if isinstance(segment, dict) else None

    def found(records: list[dict[str, Any]]) -> set[str]:
        return {m for r in records for e in r["events"] if (m := message_id(e)) in wanted}

    records = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).intake,
        INTAKE_BATCH,
        until=lambda rs: found(rs) >= wanted,
    )
    out = {}
    for record in records:
        for event in record["events"]:
            if (m := message_id(event)) in wanted:
                out[m] = {**event, "record": record}
    return out


async def test_each_route_answers_success_and_writes_its_event(
    collector: str, write_key: str, settings: Settings
) -> None:
    user = unique("user")
    ids = {kind: unique(kind) for kind in CALLS}
    async with httpx.AsyncClient(base_url=collector, headers=basic(write_key)) as http:
        for kind, fields in CALLS.items():
            body = {**fields, "userId": user, "messageId": ids[kind]}
            response = await http.post(f"/v1/{kind}", json=body)
            assert (response.status_code, response.json()) == (200, {"success": True}), kind

    events = await events_on_topic(settings, set(ids.values()))
    assert {kind: events[ids[kind]]["type"] for kind in CALLS} == EXPECTED_TYPES
    assert {e["record"]["channel"] for e in events.values()} == {"segment"}
    assert len({e["record"]["profile_id"] for e in events.values()}) == 1  # one user
    identify = events[ids["identify"]]
    assert orjson.loads(identify["properties"]) == {"email": "ada@example.com"}
    assert orjson.loads(identify["options"])["user_id"] == user


async def test_write_key_in_header_body_or_both(
    collector: str, write_key: str, settings: Settings
) -> None:
    ids = [unique("auth") for _ in range(3)]
    message = {"event": "Signed In", "anonymousId": unique("anon")}
    async with httpx.AsyncClient(base_url=collector) as http:
        by_header = await http.post(
            "/v1/track", json={**message, "messageId": ids[0]}, headers=basic(write_key)
        )
        by_body = await http.post(
            "/v1/track", json={**message, "messageId": ids[1], "writeKey": write_key}
        )
        by_both = await http.post(
            "/v1/batch",
            json={
                "batch": [{**message, "type": "track", "messageId": ids[2]}],
                "writeKey": write_key,
            },
            headers=basic(write_key),
        )
    assert [r.status_code for r in (by_header, by_body, by_both)] == [200, 200, 200]
    assert set(await events_on_topic(settings, set(ids))) == set(ids)


@pytest.mark.parametrize(
    ("headers", "body_key"),
    [
        ({}, None),
        (basic("hw_not_a_key_of_anyone"), None),
        ({}, "hw_not_a_key_of_anyone"),
        ({"authorization": "Basic %%%"}, None),
    ],
)
async def test_missing_or_unknown_write_key_is_401(
    collector: str, write_key: str, headers: dict[str, str], body_key: str | None
) -> None:
    body: dict[str, Any] = {"event": "E", "userId": "u"}
    if body_key:
        body["writeKey"] = body_key
    async with httpx.AsyncClient(base_url=collector) as http:
        response = await http.post("/v1/track", json=body, headers=headers)
    assert response.status_code == 401
    answer = response.json()
    assert answer["field"] == "writeKey" and answer["error"]
    assert "hw_not_a_key_of_anyone" not in response.text  # secrets are not echoed


async def test_gzip_batch_is_accepted_and_a_gzip_bomb_is_413(
    collector: str, write_key: str, settings: Settings
) -> None:
    ids = [unique("gz") for _ in range(3)]
    batch = {
        "batch": [
            {"type": "page", "anonymousId": unique("anon"), "messageId": m, "name": "P"}
            for m in ids
        ],
        "context": {"library": {"name": "gzip-test"}},
    }
    bomb = gzip.compress(b'{"batch": [' + b" " * 5_000_000 + b"]}")
    headers = {**basic(write_key), "content-encoding": "gzip", "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=collector, headers=headers) as http:
        accepted = await http.post("/v1/batch", content=gzip.compress(orjson.dumps(batch)))
        exploded = await http.post("/v1/batch", content=bomb)
        broken = await http.post("/v1/batch", content=b"\x1f\x8b not really")
    assert accepted.status_code == 200, accepted.text
    assert len(bomb) < settings.max_request_bytes  # small on the wire, huge inflated
    assert exploded.status_code == 413 and "decompressed" in exploded.json()["error"]
    assert broken.status_code == 400 and broken.json()["error"]
    events = await events_on_topic(settings, set(ids))
    for event in events.values():  # the batch's context, once on the record, applies to each
        context = {**orjson.loads(event["record"]["context"]), **orjson.loads(event["context"])}
        assert context["library"] == {"name": "gzip-test"}


async def test_resent_message_keeps_its_event_id(
    collector: str, write_key: str, settings: Settings
) -> None:
    message_id = unique("dup")
    body = {"event": "Paid", "userId": unique("user"), "messageId": message_id}
    async with httpx.AsyncClient(base_url=collector, headers=basic(write_key)) as http:
        first = await http.post("/v1/track", json=body)
        again = await http.post("/v1/batch", json={"batch": [{**body, "type": "track"}]})
    assert first.status_code == again.status_code == 200

    def copies(records: list[dict[str, Any]]) -> list[str]:
        return [
            e["id"]
            for r in records
            for e in r["events"]
            if orjson.loads(e["options"])["segment"].get("messageId") == message_id
        ]

    records = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).intake,
        INTAKE_BATCH,
        until=lambda rs: len(copies(rs)) == 2,
    )
    first_id, second_id = copies(records)
    assert first_id == second_id  # the agents' create-by-id and applied-ids drop the repeat


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/v1/track", b"{not json", 400, None),
        ("/v1/track", b'{"event": "E"}', 422, "userId"),
        ("/v1/track", b'{"userId": "u"}', 422, "event"),
        ("/v1/alias", b'{"userId": "u"}', 422, "previousId"),
        ("/v1/group", b'{"anonymousId": "a"}', 422, "groupId"),
        ("/v1/batch", b'{"batch": [{"type": "track", "event": "E"}]}', 422, "batch[0].userId"),
        ("/v1/batch", b'{"batch": [{"type": "nope", "userId": "u"}]}', 422, "batch[0].type"),
        ("/v1/batch", b'{"batch": {}}', 422, "batch"),
    ],
)
async def test_bad_messages_get_4xx_naming_the_field(
    collector: str, write_key: str, path: str, body: bytes, status: int, field: str | None
) -> None:
    headers = {**basic(write_key), "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=collector, headers=headers) as http:
        response = await http.post(path, content=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]
    if field is not None:
        assert response.json()["field"] == field


@pytest.mark.parametrize("path", ["/v1/track", "/v1/batch"])
async def test_a_form_body_is_told_that_json_is_expected(
    collector: str, write_key: str, path: str
) -> None:
    async with httpx.AsyncClient(base_url=collector, headers=basic(write_key)) as http:
        response = await http.post(path, data={"userId": "u", "event": "E"})
    assert response.status_code == 400
    assert "expected a JSON body (content-type application/json)" in response.json()["error"]


async def test_oversize_message_request_and_batch_are_refused(
    collector: str, write_key: str, settings: Settings
) -> None:
    message = {"type": "track", "event": "E", "userId": "u"}
    big_message = {**message, "properties": {"blob": "x" * settings.max_event_bytes}}
    big_request = {"batch": [{**message, "properties": {"b": "y" * 20_000}}] * 30}
    too_many = {"batch": [message] * 2501}
    async with httpx.AsyncClient(base_url=collector, headers=basic(write_key)) as http:
        one = await http.post("/v1/batch", json={"batch": [message, big_message]})
        request = await http.post("/v1/batch", json=big_request)
        count = await http.post("/v1/batch", json=too_many)
    assert one.status_code == 413 and one.json()["field"] == "batch[1]"
    assert request.status_code == 413 and request.json()["error"]
    assert count.status_code == 422 and count.json()["field"] == "batch"


async def test_bot_traffic_is_kept_and_tagged(
    collector: str, write_key: str, settings: Settings
) -> None:
    bot_id, person_id = unique("bot"), unique("person")
    crawler = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    async with httpx.AsyncClient(base_url=collector, headers=basic(write_key)) as http:
        for message_id, agent in ((bot_id, crawler), (person_id, "Mozilla/5.0 Firefox/120.0")):
            body = {"anonymousId": "a", "messageId": message_id, "context": {"userAgent": agent}}
            assert (await http.post("/v1/page", json=body)).status_code == 200
    events = await events_on_topic(settings, {bot_id, person_id})
    assert events[bot_id]["tags"] == ["bot"] and events[person_id]["tags"] == []


@pytest_asyncio.fixture(loop_scope="session")
async def strict_source(settings: Settings, collector: str) -> AsyncIterator[tuple[str, str]]:
    """A source with a burst of 3 events, refilled so slowly (one per 100 s) that timing
    cannot matter, known to the running collector."""
    source_id, key = unique("strict"), "hw_" + uuid.uuid4().hex
    await publish_source(
        settings,
        source_id,
        1,
        name="Strict",
        write_keys=[{"key": key}],
        rate_limit={"events_per_second": 0.01, "burst": 3},
    )
    async with httpx.AsyncClient(base_url=collector) as http:

        async def known() -> bool:
            response = await http.post("/v1/batch", json={"batch": []}, headers=basic(key))
            return response.status_code != 401

        await eventually(known, timeout=15)  # costs one token
    yield source_id, key


async def test_rate_limit_answers_429_with_retry_after_on_every_route(
    collector: str, strict_source: tuple[str, str]
) -> None:
    source_id, key = strict_source
    two = {"batch": [{"type": "track", "event": "E", "userId": "u"}] * 2}
    async with httpx.AsyncClient(base_url=collector, headers=basic(key)) as http:
        within = await http.post("/v1/batch", json=two)  # 1 + 2 = the burst of 3
        over = await http.post("/v1/track", json={"event": "E", "userId": "u"})
        tracker = await http.post(
            "/track", json={"source": {"id": source_id}, "events": [{"type": "t"}]}
        )
        webhook = await http.get(f"/collect/signup/{source_id}")
    assert within.status_code == 200
    for refused in (over, tracker, webhook):
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["retry-after"]) >= 1
        assert "rate limit" in refused.json()["error"]


async def test_analytics_js_short_paths_and_plain_text_bodies(
    collector: str, write_key: str, settings: Settings
) -> None:
    """analytics.js posts each call to /v1/<first letter> as text/plain (no preflight),
    and batches to /v1/b with HTTP Basic (after a CORS preflight)."""
    ids = [unique("ajs") for _ in range(3)]
    anonymous = unique("anon")
    async with httpx.AsyncClient(base_url=collector) as http:
        page = await http.post(
            "/v1/p",
            content=orjson.dumps(
                {"anonymousId": anonymous, "messageId": ids[0], "writeKey": write_key}
            ),
            headers={"content-type": "text/plain"},
        )
        track = await http.post(
            "/v1/t",
            content=orjson.dumps(
                {
                    "anonymousId": anonymous,
                    "event": "Clicked",
                    "messageId": ids[1],
                    "writeKey": write_key,
                }
            ),
            headers={"content-type": "text/plain"},
        )
        preflight = await http.options(
            "/v1/b",
            headers={
                "origin": "https://shop.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )
        batched = await http.post(
            "/v1/b",
            json={"batch": [{"type": "identify", "anonymousId": anonymous, "messageId": ids[2]}]},
            headers=basic(write_key),
        )
    assert [r.status_code for r in (page, track, preflight, batched)] == [200, 200, 200, 200]
    events = await events_on_topic(settings, set(ids))
    assert [events[i]["type"] for i in ids] == ["page-view", "Clicked", "identify"]
