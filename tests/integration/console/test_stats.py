"""Dashboard counts and histograms: per tenant, by received time and by type."""

from __future__ import annotations

from datetime import datetime

import pytest

from headwater.adapters.search import connect_search
from headwater.core.ports.search import BulkAction
from headwater.core.tenancy import events_index
from tests.integration.console.conftest import Api
from tests.integration.console.test_isolation import store_data
from tests.support.services import Endpoints, elasticsearch_client_or_skip

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

DAYS = ["2026-03-01T10:00:00+00:00", "2026-03-01T12:00:00+00:00", "2026-03-03T09:00:00+00:00"]


async def store_events(api: Api, tenant: str) -> None:
    prefix = api.settings.index_prefix
    actions = [
        BulkAction(
            events_index(prefix, tenant, "staging", datetime.fromisoformat(day)),
            f"{tenant}-{n}",
            {
                "id": f"{tenant}-{n}",
                "tenant": tenant,
                "env": "staging",
                "type": "purchase" if n else "page-view",
                "time": {"create": day, "insert": day},
            },
        )
        for n, day in enumerate(DAYS)
    ]
    for index in {a.index for a in actions}:  # a past month: created as the worker would
        await api.runtime.search.ensure_index(index, f"{prefix}-{tenant}-staging-events")
    assert (await api.runtime.search.bulk(actions)).written == len(DAYS)
    await api.runtime.search.refresh(f"{prefix}-{tenant}-staging-events")


async def test_event_histogram_and_types_of_the_callers_tenant(api: Api) -> None:
    await api.tenant("stats_a")
    await api.tenant("stats_b")
    await store_events(api, "stats_a")
    await store_events(api, "stats_b")
    marketer = await api.user(
        await api.token("admin@stats_a.example"), "m@stats_a.example", "marketer"
    )
    marketer = {**marketer, "x-context": "staging"}  # store_events writes to staging

    found = await api.http.get(
        "/stats/events",
        headers=marketer,
        params={
            "interval": "day",
            "since": "2026-03-01T00:00:00Z",
            "until": "2026-04-01T00:00:00Z",
        },
    )
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["total"] == 3  # stats_b's events are not counted
    assert body["by_type"] == [{"key": "purchase", "count": 2}, {"key": "page-view", "count": 1}]
    assert [(b["key"][:10], b["count"]) for b in body["over_time"]] == [
        ("2026-03-01", 2),
        ("2026-03-02", 0),
        ("2026-03-03", 1),
    ]
    narrower = await api.http.get(
        "/stats/events", headers=marketer, params={"since": "2026-03-02T00:00:00Z"}
    )
    assert narrower.json()["total"] == 1
    bad = await api.http.get("/stats/events", headers=marketer, params={"interval": "fortnight"})
    assert bad.status_code == 422


async def test_counts_per_family(api: Api) -> None:
    await api.tenant("stats_c")
    await store_data(api, "stats_c", "production", "p1")
    await store_data(api, "stats_c", "production", "p2")
    admin = await api.token("admin@stats_c.example")
    counts = await api.http.get("/stats", headers=admin)  # data routes: production first
    assert counts.headers["x-context"] == "production"
    assert counts.json() == {
        "events": 2,
        "profiles": 2,
        "sessions": 2,
        "context": "production",
        "hint": None,
    }
    staging = await api.http.get("/stats", headers={**admin, "x-context": "staging"})
    assert staging.headers["x-context"] == "staging"
    assert staging.json() == {
        "events": 0,
        "profiles": 0,
        "sessions": 0,
        "context": "staging",
        "hint": "none in staging; production has 2 events: send x-context: production",
    }


@pytest.mark.smoke
async def test_aggregate_with_the_elasticsearch_client(api: Api, endpoints: Endpoints) -> None:
    elasticsearch_client_or_skip(endpoints)
    await api.tenant("stats_es")
    await store_events(api, "stats_es")
    store = await connect_search(
        api.settings, client="elasticsearch", node_class=endpoints.es_node_class
    )
    try:
        found = await store.aggregate(
            f"{api.settings.index_prefix}-stats_es-staging-events",
            {"term": {"tenant": "stats_es"}},
            {"by_type": {"terms": {"field": "type"}}},
        )
    finally:
        await store.close()
    assert found["total"] == 3
    assert {b["key"]: b["doc_count"] for b in found["aggregations"]["by_type"]["buckets"]} == {
        "purchase": 2,
        "page-view": 1,
    }
