"""Index templates, the atomic alias move of a generation switch, and free-form
(``flat_object`` / ``flattened``) fields on the real server, through both clients."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from headwater.adapters.search.provision import provision_events
from headwater.adapters.search.templates import flat_type
from headwater.core.ports.search import AliasMove, BulkAction, SearchStore
from headwater.core.tenancy import events_alias, events_index, generation_index, profiles_alias
from headwater.errors import SearchRejected
from headwater.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.smoke, pytest.mark.asyncio(loop_scope="session")]


async def index_settings(settings: Settings, index: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The index's own settings and mappings as the server reports them."""
    async with httpx.AsyncClient(base_url=settings.search_hosts[0]) as http:
        found = (await http.get(f"/{index}/_settings")).json()[index]["settings"]["index"]
        mapping = (await http.get(f"/{index}/_mapping")).json()[index]["mappings"]
    return found, mapping


async def test_a_template_shapes_every_index_of_its_family(
    store: SearchStore, settings: Settings
) -> None:
    """A generation the replay creates later gets the same mappings and settings, with
    no alias until the switch; an index outside the pattern gets none of them."""
    await provision_events(store, settings, "default", "production")
    alias = profiles_alias(settings.index_prefix, "default", "production")
    later = generation_index(alias, 7)
    assert await store.ensure_index(later) is True
    outside = f"{settings.index_prefix}-elsewhere"
    await store.ensure_index(outside)

    found, mapping = await index_settings(settings, later)
    assert (found["number_of_shards"], found["number_of_replicas"]) == (
        str(settings.index_shards),
        str(settings.index_replicas),
    )
    assert found["refresh_interval"] == "1s"
    assert str(mapping["dynamic"]).lower() == "false"
    assert mapping["properties"]["traits"]["type"] == flat_type(store.engine)
    assert mapping["properties"]["version"]["type"] == "long"
    assert await store.get_alias(alias) == [generation_index(alias)]  # not the new one
    _, plain = await index_settings(settings, outside)
    assert "traits" not in plain.get("properties", {})


async def test_readers_never_see_a_generation_switch_half_done(
    store: SearchStore, settings: Settings
) -> None:
    """While the alias moves back and forth between two generations of 20 documents
    each, every count through it is 20: never both generations, never neither."""
    await provision_events(store, settings, "default", "production")
    await provision_events(store, settings, "default", "production", generation=2, aliased=False)
    alias = events_alias(settings.index_prefix, "default", "production")
    now = datetime.now(UTC)
    first = events_index(settings.index_prefix, "default", "production", now)
    second = events_index(settings.index_prefix, "default", "production", now, 2)
    for index, tag in ((first, "a"), (second, "b")):
        docs = [BulkAction(index, f"{tag}{i}", {"id": f"{tag}{i}", "type": tag}) for i in range(20)]
        assert (await store.bulk(docs)).written == 20
        await store.refresh(index)

    counts: list[int] = []
    moving = True

    async def read() -> None:
        while moving:
            counts.append(await store.count(alias))

    reader = asyncio.create_task(read())
    for n in range(10):
        old, new = (first, second) if n % 2 == 0 else (second, first)
        await store.move_aliases([AliasMove(alias, (old,), (new,))])
    moving = False
    await reader

    assert len(counts) > 1 and set(counts) == {20}, counts
    assert await store.get_alias(alias) == [first]  # ten moves: back where it began


async def test_a_move_that_cannot_apply_changes_nothing(
    store: SearchStore, settings: Settings
) -> None:
    await provision_events(store, settings, "default", "production")
    await provision_events(store, settings, "default", "production", generation=2, aliased=False)
    alias = profiles_alias(settings.index_prefix, "default", "production")
    live, rebuilt = generation_index(alias), generation_index(alias, 2)
    sessions = alias.replace("-profiles", "-sessions")

    with pytest.raises(SearchRejected):  # the second move removes what is not there
        await store.move_aliases(
            [
                AliasMove(alias, (live,), (rebuilt,)),
                AliasMove(
                    sessions, (generation_index(sessions, 9),), (generation_index(sessions, 2),)
                ),
            ]
        )

    assert await store.get_alias(alias) == [live]
    assert await store.get_alias(sessions) == [generation_index(sessions)]


async def test_free_form_fields_hold_any_json_and_search_it_as_keywords(
    store: SearchStore, settings: Settings
) -> None:
    await provision_events(store, settings, "default", "production")
    alias = profiles_alias(settings.index_prefix, "default", "production")
    index = generation_index(alias)
    traits = {
        "age": 42,
        "vip": True,
        "none": None,
        "tags": ["a", 7, False],
        "address": {"city": "Oslo", "geo": {"lat": 59.9}},
        "dotted.key": "d",
        "empty": "",
    }
    outcome = await store.bulk([BulkAction(index, "f1", {"id": "f1", "traits": traits}, "index")])
    assert outcome.written == 1, outcome.rejected
    stored = await store.get(index, "f1")
    assert stored is not None and stored["traits"] == traits  # _source kept as sent
    await store.refresh(index)

    async def ids(query: dict[str, Any]) -> list[str]:
        found = await store.search(alias, query=query)
        return [h["_id"] for h in found["hits"]["hits"]]

    assert await ids({"term": {"traits.age": "42"}}) == ["f1"]
    assert await ids({"term": {"traits.vip": "true"}}) == ["f1"]
    assert await ids({"term": {"traits.tags": "7"}}) == ["f1"]
    assert await ids({"term": {"traits.address.city": "Oslo"}}) == ["f1"]
    assert await ids({"term": {"traits.address.geo.lat": "59.9"}}) == ["f1"]
    assert await ids({"term": {"traits.address.city": "oslo"}}) == []  # keywords: exact
    assert await ids({"term": {"traits.city": "Oslo"}}) == []  # the path, not the leaf name
    assert await ids({"prefix": {"traits.address.city": "Os"}}) == ["f1"]
