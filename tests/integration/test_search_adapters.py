"""Both search adapters (Elasticsearch and OpenSearch clients) against the real server
(the ``store`` fixture, in conftest.py, gives each test both)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from headwater.adapters.search.provision import drop_tenant_indices, provision_events
from headwater.adapters.search.templates import flat_type
from headwater.core.ports.search import AliasMove, BulkAction, SearchStore
from headwater.core.tenancy import events_alias, events_index
from headwater.errors import SearchRejected
from headwater.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.smoke, pytest.mark.asyncio(loop_scope="session")]


def month_index(settings: Settings) -> str:
    return events_index(settings.index_prefix, "default", "production", datetime.now(UTC))


async def test_provisioning_creates_alias_and_is_idempotent(
    store: SearchStore, settings: Settings
) -> None:
    alias = await provision_events(store, settings, "default", "production")
    assert alias == events_alias(settings.index_prefix, "default", "production")
    assert await provision_events(store, settings, "default", "production") == alias
    assert await store.get_alias(alias) == [month_index(settings)]


async def test_free_form_fields_never_add_mappings(store: SearchStore, settings: Settings) -> None:
    alias = await provision_events(store, settings, "default", "production")
    index = month_index(settings)
    wide = {f"field_{i}": {"nested": i} for i in range(1500)}  # over the 1,000-field limit
    outcome = await store.bulk(
        [
            BulkAction(
                index, "wide", {"id": "wide", "type": "t", "properties": wide, "context": wide}
            )
        ]
    )
    assert outcome.written == 1 and not outcome.rejected

    async with httpx.AsyncClient() as http:
        mapping = (await http.get(f"{settings.search_hosts[0]}/{index}/_mapping")).json()
    fields = mapping[index]["mappings"]["properties"]
    assert fields["properties"]["type"] == flat_type(store.engine)
    assert "field_0" not in str(fields)

    await store.refresh(index)
    hits = await store.search(alias, query={"term": {"properties.field_7.nested": "7"}})
    assert [h["_id"] for h in hits["hits"]["hits"]] == ["wide"]


async def test_create_is_idempotent_and_rejections_are_reported(
    store: SearchStore, settings: Settings
) -> None:
    await provision_events(store, settings, "default", "production")
    index = month_index(settings)
    doc = {"id": "e1", "type": "page-view", "time": {"create": "2026-11-29T10:00:00.000Z"}}
    first = await store.bulk([BulkAction(index, "e1", doc)])
    again = await store.bulk(
        [
            BulkAction(index, "e1", {**doc, "type": "changed"}),
            BulkAction(index, "bad", {"id": "bad", "time": {"create": "not a date"}}),
        ]
    )
    assert (first.written, first.already_there) == (1, 0)
    assert (again.written, again.already_there) == (0, 1)
    assert [a.id for a, _ in again.rejected] == ["bad"]
    assert again.rejected[0][1].startswith("400")

    stored = await store.get(index, "e1")
    assert stored is not None and stored["type"] == "page-view"  # never overwritten
    assert await store.get(index, "missing") is None


async def test_external_versions_keep_the_newest(store: SearchStore, settings: Settings) -> None:
    await provision_events(store, settings, "default", "production")
    index = month_index(settings)

    def snapshot(version: int) -> BulkAction:
        return BulkAction(index, "p1", {"id": "p1", "type": f"v{version}"}, "index", version)

    await store.bulk([snapshot(3)])
    older = await store.bulk([snapshot(2)])
    assert older.already_there == 1
    stored = await store.get(index, "p1")
    assert stored is not None and stored["type"] == "v3"


async def test_search_count_and_paging(store: SearchStore, settings: Settings) -> None:
    alias = await provision_events(store, settings, "default", "production")
    index = month_index(settings)
    actions = [
        BulkAction(index, f"s{i:02d}", {"id": f"s{i:02d}", "type": "paged"}) for i in range(25)
    ]
    assert (await store.bulk(actions)).written == 25
    await store.refresh(index)
    query = {"term": {"type": "paged"}}
    assert await store.count(alias, query) == 25
    seen: list[str] = []
    after = None
    while True:
        page = await store.search(
            alias, query=query, size=10, sort=[{"id": "asc"}], search_after=after
        )
        hits = page["hits"]["hits"]
        if not hits:
            break
        seen += [h["_id"] for h in hits]
        after = hits[-1]["sort"]
    assert seen == [f"s{i:02d}" for i in range(25)]


async def test_missing_index_search_is_a_rejection(store: SearchStore) -> None:
    with pytest.raises(SearchRejected):
        await store.search("hw-no-such-index")


async def test_next_generation_stays_unseen_until_the_aliases_move(
    store: SearchStore, settings: Settings
) -> None:
    alias = await provision_events(store, settings, "default", "production")
    await provision_events(store, settings, "default", "production", generation=2, aliased=False)
    now = datetime.now(UTC)
    first = month_index(settings)
    second = events_index(settings.index_prefix, "default", "production", now, 2)
    await store.bulk([BulkAction(second, "only-in-2", {"id": "only-in-2", "type": "t"})])
    await store.refresh(second)

    assert await store.get_alias(alias) == [first]
    assert await store.count(alias, {"term": {"id": "only-in-2"}}) == 0

    await store.move_aliases([AliasMove(alias, (first,), (second,))])

    assert await store.get_alias(alias) == [second]
    assert await store.count(alias, {"term": {"id": "only-in-2"}}) == 1


async def test_a_write_that_creates_an_index_can_put_it_behind_an_alias(
    store: SearchStore, settings: Settings
) -> None:
    alias = f"{settings.index_prefix}-joined"
    index = f"{alias}-2001.01"

    assert await store.ensure_index(index, alias) is True
    assert await store.ensure_index(index, alias) is False
    assert await store.get_alias(alias) == [index]


async def test_a_tenants_indices_and_templates_can_be_dropped(
    store: SearchStore, settings: Settings
) -> None:
    prefix = settings.index_prefix
    await provision_events(store, settings, "gone", "production")
    await provision_events(store, settings, "gone", "staging", generation=2, aliased=False)
    await provision_events(store, settings, "kept", "production")

    dropped = await drop_tenant_indices(store, prefix, "gone")

    assert len(dropped) >= 6  # events, profiles, sessions (+ merges) in both environments
    assert await store.list_indices(f"{prefix}-gone-*") == []
    assert await store.list_indices(f"{prefix}-kept-production-*") != []
    await store.delete_index_template("no-such-template")  # no error
