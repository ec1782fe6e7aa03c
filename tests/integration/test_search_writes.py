"""Writes on the real server, through both clients: external versions in every order, one
bulk request with written, existing and refused items, the writer's dead letters and its
back-off on 429, and delete-by-query of what was written a moment ago."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from headwater.adapters.search.provision import provision_events
from headwater.adapters.search.writer import BulkWriter
from headwater.core.ports.search import BulkAction, SearchStore
from headwater.core.tenancy import events_index, generation_index, profiles_alias
from headwater.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.smoke, pytest.mark.asyncio(loop_scope="session")]


async def profiles_index(store: SearchStore, settings: Settings) -> str:
    await provision_events(store, settings, "default", "production")
    return generation_index(profiles_alias(settings.index_prefix, "default", "production"))


def events_of_this_month(settings: Settings) -> str:
    return events_index(settings.index_prefix, "default", "production", datetime.now(UTC))


def snapshot(index: str, version: int, doc_id: str = "p1") -> BulkAction:
    return BulkAction(index, doc_id, {"id": doc_id, "version": version}, "index", version)


def erasure(index: str, version: int, doc_id: str = "p1") -> BulkAction:
    return BulkAction(index, doc_id, {}, "delete", version)


async def test_external_versions_keep_the_newest_in_any_order(
    store: SearchStore, settings: Settings
) -> None:
    index = await profiles_index(store, settings)

    async def stored_version() -> int | None:
        doc = await store.get(index, "p1")
        return None if doc is None else int(doc["version"])

    assert (await store.bulk([snapshot(index, 3)])).written == 1
    for stale in (snapshot(index, 2), snapshot(index, 3), erasure(index, 3)):
        outcome = await store.bulk([stale])  # older or equal: 409, already newer
        assert (outcome.written, outcome.already_there, outcome.rejected) == (0, 1, [])
        assert await stored_version() == 3
    assert (await store.bulk([snapshot(index, 4)])).written == 1
    assert await stored_version() == 4

    assert (await store.bulk([erasure(index, 5)])).written == 1  # the profile is forgotten
    late = await store.bulk([snapshot(index, 4)])  # a snapshot from before the erasure
    assert late.already_there == 1 and await stored_version() is None
    # one request, out of order: the newest wins whatever its place
    mixed = [snapshot(index, v, "p2") for v in (7, 9, 8)]
    outcome = await store.bulk(mixed)
    assert (outcome.written, outcome.already_there) == (2, 1)
    doc = await store.get(index, "p2")
    assert doc is not None and doc["version"] == 9


async def test_one_bulk_sorts_written_existing_and_refused_items(
    store: SearchStore, settings: Settings
) -> None:
    await provision_events(store, settings, "default", "production")
    index = events_of_this_month(settings)
    event = {"id": "e1", "type": "t", "time": {"create": "2026-11-29T10:00:00Z"}}
    await store.bulk([BulkAction(index, "e1", event)])
    bad_date = BulkAction(index, "bad", {"id": "bad", "time": {"create": "yesterday-ish"}})
    bad_flag = BulkAction(index, "flag", {"id": "flag", "metadata": {"valid": "maybe"}})

    fresh = BulkAction(index, "e2", {**event, "id": "e2"})
    outcome = await store.bulk([fresh, bad_date, BulkAction(index, "e1", event), bad_flag])

    assert (outcome.written, outcome.already_there, outcome.retry) == (1, 1, [])
    reasons = dict((action.id, reason) for action, reason in outcome.rejected)
    assert sorted(reasons) == ["bad", "flag"]
    assert all(r.startswith("400 mapper_parsing_exception") for r in reasons.values()), reasons
    assert "time.create" in reasons["bad"] and "metadata.valid" in reasons["flag"]
    assert await store.get(index, "bad") is None


async def test_the_writer_returns_only_refused_documents_with_their_reasons(
    store: SearchStore, settings: Settings
) -> None:
    await provision_events(store, settings, "default", "production")
    index = events_of_this_month(settings)
    good = [BulkAction(index, f"w{i}", {"id": f"w{i}", "type": "t"}) for i in range(9)]
    bad = BulkAction(index, "w-bad", {"id": "w-bad", "time": {"insert": "not a date"}})
    writer = BulkWriter(store, chunk=4, max_backoff=0.5)

    refused = await writer.write([*good[:5], bad, *good[5:]])

    assert [(a.id, r.split(":")[0]) for a, r in refused] == [
        ("w-bad", "400 mapper_parsing_exception")
    ]
    assert (writer.written, writer.already_there) == (9, 0)
    await store.refresh(index)
    assert await store.count(index) == 9


async def test_the_writer_backs_off_while_an_index_answers_429_and_loses_nothing(
    store: SearchStore, settings: Settings
) -> None:
    """A read-only-allow-delete block (what a full disk sets) makes the engine answer
    429 for the blocked index's items only: the rest of the bulk is written, the
    blocked items are retried with back-off until the block goes."""
    index = await profiles_index(store, settings)
    other = f"{index}-other"
    await store.ensure_index(other)
    block = f"{settings.search_hosts[0]}/{other}/_settings"
    async with httpx.AsyncClient() as http:
        blocked = await http.put(block, json={"index.blocks.read_only_allow_delete": True})
        assert blocked.status_code == 200, blocked.text
        writer = BulkWriter(store, max_backoff=0.3)
        actions = [snapshot(index, 1, "free"), snapshot(other, 1, "held"), snapshot(other, 2, "x")]
        writing = asyncio.create_task(writer.write(actions))
        done, _ = await asyncio.wait({writing}, timeout=1.5)
        assert not done, "the writer must hold the blocked documents, not drop them"
        assert await store.get(index, "free") is not None  # the rest went through at once
        assert writer.written == 1

        cleared = await http.put(block, json={"index.blocks.read_only_allow_delete": None})
        assert cleared.status_code == 200, cleared.text
    assert await asyncio.wait_for(writing, 30) == []
    assert writer.written == 3
    assert await store.get(other, "held") is not None and await store.get(other, "x") is not None


async def test_delete_by_query_deletes_what_was_written_a_moment_ago(
    store: SearchStore, settings: Settings
) -> None:
    """No refresh between the write and the deletion (DELETE /profiles/{id} right after
    the last event was stored): the adapter must make those documents findable."""
    await provision_events(store, settings, "default", "production")
    index = events_of_this_month(settings)
    docs = [("d1", "gone"), ("d2", "gone"), ("d3", "kept")]
    outcome = await store.bulk(
        [BulkAction(index, i, {"id": i, "profile": {"id": p}}) for i, p in docs]
    )
    assert outcome.written == 3

    deleted = await store.delete_by_query(index, {"term": {"profile.id": "gone"}})

    assert deleted == 2
    assert await store.count(index) == 1  # delete-by-query refreshes after itself
