"""``/dashboard``: the console's dashboard numbers, per tenant and context, for the
recent window only; and ``/console/info``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater.console.routes.dashboard import window_bounds
from headwater.core.ports.search import BulkAction
from tests.integration.console.conftest import Api, event_action
from tests.integration.console.test_isolation import store_data

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def _invalid(api: Api, tenant: str, now: datetime) -> BulkAction:
    action = event_action(api.settings, tenant, "production", now, "ev-bad", "signup", "p-bad")
    action.doc["metadata"] = {"valid": False, "errors": ["properties: 'email' is required"]}
    action.doc["source"] = {"id": "src-web"}
    return action


async def test_recent_events_by_minute_type_source_and_validity(api: Api) -> None:
    roles = await api.roles("dash_a")
    await api.roles("dash_b")
    now = datetime.now(UTC)
    await store_data(api, "dash_a", "production", "p1")  # a purchase, now
    await store_data(api, "dash_b", "production", "p9")  # another tenant's: not counted
    old = now - timedelta(hours=3)  # outside the hour, inside the day
    stale = event_action(api.settings, "dash_a", "production", old, "ev-old", "page-view", "p1")
    alias = f"{api.settings.index_prefix}-dash_a-production-events"
    await api.runtime.search.ensure_index(stale.index, alias)  # 3 h ago may be last month
    await api.store("dash_a", "production", [_invalid(api, "dash_a", now), stale])

    hour = await api.http.get("/dashboard", headers=roles["marketer"])
    assert hour.status_code == 200, hour.text
    body = hour.json()
    assert body["context"] == "production"
    assert (body["window"], body["bucket_minutes"]) == ("hour", 1)
    assert body["events"] == 2
    assert body["invalid"] == 1
    assert sorted((b["key"], b["count"]) for b in body["by_type"]) == [
        ("purchase", 1),
        ("signup", 1),
    ]
    assert [(b["key"], b["count"]) for b in body["by_source"]] == [("src-web", 1)]
    assert len(body["over_time"]) == 60  # every minute of the hour, empty ones too
    assert sum(b["count"] for b in body["over_time"]) == 2
    assert (body["profiles"], body["sessions"]) == (1, 1)

    day = (await api.http.get("/dashboard?window=day", headers=roles["marketer"])).json()
    assert (day["events"], day["bucket_minutes"], len(day["over_time"])) == (3, 10, 144)

    staging = await api.http.get("/dashboard", headers={**roles["admin"], "x-context": "staging"})
    assert staging.json()["events"] == 0
    assert (await api.http.get("/dashboard?window=week", headers=roles["admin"])).status_code == 422
    assert (await api.http.get("/dashboard?x=1", headers=roles["admin"])).status_code == 422


async def test_window_ends_after_the_current_bucket() -> None:
    now = datetime(2026, 5, 1, 10, 7, 30, tzinfo=UTC)
    since, until, bucket = window_bounds("hour", now)
    assert (since, until, bucket) == (
        datetime(2026, 5, 1, 9, 8, tzinfo=UTC),
        datetime(2026, 5, 1, 10, 8, tzinfo=UTC),
        timedelta(minutes=1),
    )
    since, until, _ = window_bounds("day", now)
    assert until == datetime(2026, 5, 1, 10, 10, tzinfo=UTC)
    assert until - since == timedelta(days=1)


async def test_console_info_names_the_collector(api: Api) -> None:
    roles = await api.roles("dash_c")
    found = await api.http.get("/console/info", headers=roles["marketer"])
    assert found.status_code == 200
    settings = api.settings
    assert found.json()["collector_url"] == (
        f"http://{settings.collector_host}:{settings.collector_port}"
    )
