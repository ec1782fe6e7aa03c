"""``GET /events`` by time range (when stored) and validity, within the caller's tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.console.conftest import Api, event_action

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_events_by_time_range_and_validity(api: Api) -> None:
    roles = await api.roles("evf_a")
    await api.roles("evf_b")
    now = datetime.now(UTC).replace(microsecond=0)
    old = now - timedelta(hours=2)
    fresh = event_action(api.settings, "evf_a", "production", now, "ev-new", "buy", "p1")
    stale = event_action(api.settings, "evf_a", "production", old, "ev-old", "buy", "p1")
    bad = event_action(api.settings, "evf_a", "production", now, "ev-bad", "buy", "p1")
    bad.doc["metadata"] = {"valid": False, "errors": ["properties: 'total' is required"]}
    good = event_action(api.settings, "evf_a", "production", now, "ev-ok", "buy", "p1")
    good.doc["metadata"] = {"valid": True}
    other = event_action(api.settings, "evf_b", "production", now, "ev-b", "buy", "p2")
    other.doc["metadata"] = {"valid": False}
    alias = f"{api.settings.index_prefix}-evf_a-production-events"
    await api.runtime.search.ensure_index(stale.index, alias)  # 2 h ago may be last month
    await api.store("evf_a", "production", [fresh, stale, bad, good])
    await api.store("evf_b", "production", [other])
    marketer = roles["marketer"]

    async def ids(query: str) -> list[str]:
        answer = await api.http.get(f"/events?{query}", headers=marketer)
        assert answer.status_code == 200, answer.text
        return sorted(item["id"] for item in answer.json()["items"])

    since = (now - timedelta(minutes=5)).isoformat()
    assert await ids(f"since={since.replace('+', '%2B')}") == ["ev-bad", "ev-new", "ev-ok"]
    until = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")  # no offset: UTC
    assert await ids(f"until={until}") == ["ev-old"]
    assert await ids("valid=false") == ["ev-bad"]  # never another tenant's
    assert await ids("valid=true") == ["ev-new", "ev-ok", "ev-old"]  # no flag: valid
    assert await ids(f"valid=true&until={until}") == ["ev-old"]

    backwards = await api.http.get(
        f"/events?since={now.isoformat()[:19]}&until={until}", headers=marketer
    )
    assert backwards.status_code == 422
    assert "since must be before until" in backwards.text
    assert (await api.http.get("/events?valid=maybe", headers=marketer)).status_code == 422
    assert (await api.http.get("/events?since=yesterday", headers=marketer)).status_code == 422
