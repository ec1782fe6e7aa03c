"""Data routes page with search_after: every document once, in order, past any window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from headwater.core.ports.search import BulkAction
from headwater.core.tenancy import events_index
from tests.integration.console.conftest import Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_events_page_through_every_document_once(api: Api) -> None:
    await api.tenant("data_a")
    prefix = api.settings.index_prefix
    start = datetime.now(UTC)
    actions = []
    for n in range(57):
        stamp = (start - timedelta(seconds=n // 3)).isoformat()  # ties on time: id breaks them
        actions.append(
            BulkAction(
                events_index(prefix, "data_a", "production", start),
                f"ev-{n:03d}",
                {
                    "id": f"ev-{n:03d}",
                    "tenant": "data_a",
                    "env": "production",
                    "type": "purchase" if n % 2 else "page-view",
                    "profile": {"id": "p1"},
                    "time": {"create": stamp, "insert": stamp},
                },
            )
        )
    assert (await api.runtime.search.bulk(actions)).written == 57
    await api.runtime.search.refresh(f"{prefix}-data_a-production-events")
    headers = {**(await api.token("admin@data_a.example")), "x-context": "production"}

    seen: list[str] = []
    after = None
    pages = 0
    while True:
        params = {"size": 10, **({"after": after} if after else {})}
        page = (await api.http.get("/events", headers=headers, params=params)).json()
        assert page["total"] == 57
        seen.extend(item["id"] for item in page["items"])
        pages += 1
        after = page["next"]
        if after is None:
            break
    assert pages == 6
    assert sorted(seen) == [f"ev-{n:03d}" for n in range(57)]  # each once
    times = [n // 3 for n in (int(i[3:]) for i in seen)]
    assert times == sorted(times)  # newest first

    purchases = await api.http.get(
        "/events", headers=headers, params={"type": "purchase", "size": 100}
    )
    assert purchases.json()["total"] == 28
    bad_cursor = await api.http.get("/events", headers=headers, params={"after": "%%%"})
    assert bad_cursor.status_code == 422


async def test_events_sorted_by_type_page_through_exactly(api: Api) -> None:
    # data_a's 57 events from the test above: a sort with many ties on type
    headers = {**(await api.token("admin@data_a.example")), "x-context": "production"}
    seen: list[tuple[str, str]] = []
    after = None
    while True:
        params = {"size": 8, "sort": "type:asc", **({"after": after} if after else {})}
        response = await api.http.get("/events", headers=headers, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend((item["type"], item["id"]) for item in page["items"])
        after = page["next"]
        if after is None:
            break
    assert seen == sorted(seen)  # type first, id breaking the ties
    assert len(seen) == len(set(seen)) == 57
    first = await api.http.get("/events", headers=headers, params={"size": 8, "sort": "type:asc"})
    cursor = first.json()["next"]
    mixed = await api.http.get(
        "/events", headers=headers, params={"sort": "time.create:asc", "after": cursor}
    )
    assert mixed.status_code == 422  # a cursor only continues the sort it came from
    wrong = await api.http.get("/events", headers=headers, params={"sort": "properties.x:asc"})
    assert wrong.status_code == 422
