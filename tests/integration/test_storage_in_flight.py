"""The storage stage writes behind (the next batch is built while the last one's bulk
requests are in flight), and still: a batch counts toward the commit only once its own
writes are acknowledged and the batches before it counted; a forgotten profile's erase
runs only after every earlier write is acknowledged; and no more than
``storage_writes_in_flight`` batches' writes are in flight (back-pressure).

A real stage on the real search engine; the store only holds back the bulk requests
that carry one profile's documents until the test lets them go."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from headwater.adapters.search.writer import BulkWriter
from headwater.agents.storage import StorageStage
from headwater.agents.worker import BatchCounts
from headwater.core.ports.search import BulkAction, BulkOutcome, SearchStore
from headwater.core.tenancy import events_alias
from headwater.settings import Settings
from headwater.streams.batches import Batch
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import SourceMessage
from tests.integration.test_storage_forget import erased, processed
from tests.support.dead_letters import refusing_dead_letters

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


class HeldBulks:
    """``store``, except that bulk requests writing ``profile``'s events wait for
    ``release``; records the order of bulks and erases."""

    def __init__(self, store: SearchStore, profile: str) -> None:
        self._store = store
        self._profile = profile
        self.release = asyncio.Event()
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def bulk(self, actions: Sequence[BulkAction]) -> BulkOutcome:
        if any((a.doc.get("profile") or {}).get("id") == self._profile for a in actions):
            await self.release.wait()
            self.calls.append(f"bulk {self._profile}")
        return await self._store.bulk(actions)

    async def delete_by_query(self, index: str, query: dict[str, Any]) -> int:
        self.calls.append("erase")
        return await self._store.delete_by_query(index, query)


class Counted:
    """A consumer that keeps what it was told was processed, in order."""

    def __init__(self) -> None:
        self.batches: list[list[SourceMessage]] = []

    def processed(self, messages: Iterable[SourceMessage]) -> None:
        self.batches.append(list(messages))


def staged(settings: Settings, search: SearchStore, profile: str) -> tuple[StorageStage, HeldBulks]:
    held = HeldBulks(search, profile)
    store: Any = held
    writer = BulkWriter(store, max_backoff=1.0)
    stage = StorageStage(settings, AvroCodec.default(), store, writer, refusing_dead_letters("s"))
    return stage, held


def batch(message: SourceMessage) -> Batch:
    return Batch([SimpleNamespace(message=message)])


async def test_a_batch_counts_only_after_its_writes_and_those_before_it(
    settings: Settings, search: SearchStore
) -> None:
    settings = settings.model_copy(update={"storage_writes_in_flight": 2})
    stage, held = staged(settings, search, "p-slow")
    counted = Counted()
    counts = BatchCounts(counted)
    first, second = processed(settings, "p-slow", 1, 1), processed(settings, "p-fast", 1, 2)
    first_batch, second_batch = batch(first), batch(second)

    counts.add(first_batch, await stage.write_behind([first]))  # its bulk is held
    writing = await stage.write_behind([second])  # returns at once: 2 may be in flight
    counts.add(second_batch, writing)
    assert (await writing).documents == 1  # the later batch's writes are acknowledged
    await asyncio.sleep(0.1)
    assert counted.batches == []  # ...but it does not count before the one in flight

    held.release.set()
    assert first_batch.done is not None and second_batch.done is not None
    await asyncio.wait_for(asyncio.gather(first_batch.done, second_batch.done), 30)
    assert counted.batches == [[first], [second]]
    alias = events_alias(settings.index_prefix, "default", "production")
    await search.refresh(alias)
    assert await search.count(alias) == 2


async def test_an_erase_waits_for_the_writes_in_flight(
    settings: Settings, search: SearchStore
) -> None:
    stage, held = staged(settings, search, "p-f")
    writing = await stage.write_behind([processed(settings, "p-f", 2, 1)])  # held

    forgetting = asyncio.create_task(stage.write_behind([erased(settings, "p-f", 3)]))
    await asyncio.sleep(0.2)
    assert held.calls == [] and not forgetting.done()  # the erase waits for the write
    held.release.set()
    await asyncio.wait_for((await asyncio.wait_for(forgetting, 30)), 30)
    assert writing.done()
    assert held.calls == ["bulk p-f", "erase"]
    alias = events_alias(settings.index_prefix, "default", "production")
    await search.refresh(alias)
    assert await search.count(alias) == 0  # the event written just before went too


async def test_no_more_writes_in_flight_than_allowed(
    settings: Settings, search: SearchStore
) -> None:
    stage, held = staged(settings, search, "p-slow")  # 1 batch's writes in flight
    writing = await stage.write_behind([processed(settings, "p-slow", 1, 1)])

    next_one = asyncio.create_task(stage.write_behind([processed(settings, "p-next", 1, 2)]))
    await asyncio.sleep(0.2)
    assert not next_one.done()  # built, but held back until the write ahead is done
    held.release.set()
    await asyncio.wait_for((await asyncio.wait_for(next_one, 30)), 30)
    assert writing.done()
