"""The HTTP middleware counts by route template and gives requests ids; the private
API's /metrics answers only its scrape token; labels stay bounded."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from headwater.errors import (
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    SignatureRefused,
    UnknownSource,
)
from headwater.observability.exposition import GuardedMetrics, HttpMetrics, metrics_body
from headwater.observability.metrics import dead_letter_reason, logical_topic, rejection_reason

TOKEN = "t" * 32


def _app(token: str | None) -> FastAPI:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    app.add_middleware(GuardedMetrics, token=token)
    app.add_middleware(HttpMetrics, service="unit")
    return app


def _sample(name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(metrics_body().decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def test_requests_count_by_route_template_never_the_url() -> None:
    transport = httpx.ASGITransport(app=_app(TOKEN))
    ok = {"service": "unit", "route": "/things/{thing_id}", "status": "200"}
    missing = {"service": "unit", "route": "unmatched", "status": "404"}
    before = (
        _sample("headwater_http_requests_total", **ok),
        _sample("headwater_http_requests_total", **missing),
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        first = await http.get("/things/p-1")
        await http.get("/things/p-2")
        await http.get("/no/such/path")
        echoed = await http.get("/things/p-3", headers={"x-request-id": "abc-123"})
        refused = await http.get("/things/p-4", headers={"x-request-id": "bad id\x01"})
        await http.request("BREW", "/things/p-5")  # a method the client made up
    assert _sample("headwater_http_requests_total", **ok) == before[0] + 4
    assert _sample("headwater_http_requests_total", **missing) == before[1] + 1
    assert len(first.headers["x-request-id"]) == 32
    assert echoed.headers["x-request-id"] == "abc-123"
    assert refused.headers["x-request-id"] != "bad id\x01"
    assert "p-1" not in metrics_body().decode()
    assert "BREW" not in metrics_body().decode()
    assert _sample("headwater_http_requests_total", method="other", service="unit") >= 1


@pytest.mark.parametrize(
    ("token", "headers", "status"),
    [
        (None, {"authorization": f"Bearer {TOKEN}"}, 403),
        (TOKEN, {}, 401),
        (TOKEN, {"authorization": "Bearer wrong"}, 401),
        (TOKEN, {"authorization": f"Bearer {TOKEN}"}, 200),
    ],
)
async def test_private_metrics_answer_only_the_scrape_token(
    token: str | None, headers: dict[str, str], status: int
) -> None:
    transport = httpx.ASGITransport(app=_app(token))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        answer = await http.get("/metrics", headers=headers)
    assert answer.status_code == status
    if status == 200:
        assert "headwater_http_requests_total" in answer.text
    else:
        assert "error" in answer.json()


def test_labels_are_bounded() -> None:
    assert logical_topic("hw", "hw.intake") == "intake"
    assert logical_topic("hw", "hw.profile.ops") == "profile.ops"
    assert logical_topic("hw", "acme.orders") == "other"  # a tenant's topic
    assert logical_topic("hw", "hwx.intake") == "other"
    assert rejection_reason(InvalidInput("x")) == "invalid"
    assert rejection_reason(PayloadTooLarge("x")) == "too_large"
    assert rejection_reason(UnknownSource("x")) == "unauthorized"
    assert rejection_reason(SignatureRefused("x")) == "signature"
    assert rejection_reason(RateLimited("x", retry_after=1)) == "rate_limited"
    assert rejection_reason(NotFound("x")) == "other"
    assert dead_letter_reason("undecodable message: bad bytes") == "undecodable"
    assert dead_letter_reason("output would be 2000000 bytes, over worker_max_record_bytes") == (
        "too_large"
    )
    assert dead_letter_reason("anything at all about profile p-123") == "other"
    assert dead_letter_reason("whatever", "search_rejected") == "search_rejected"
