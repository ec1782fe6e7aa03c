"""A search outage holds the writer back; nothing is dropped and it resumes by itself.

The search engine is the test's own, of the suite's kind. OpenSearch is stopped and
started again on the same port and data. The stand-in keeps its indices in memory and
would come back empty (and the writer's retries race a test re-creating them), so it is
hung instead (SIGSTOP): connections open, nothing answers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from headwater.adapters.search import connect_search
from headwater.adapters.search.provision import provision_events
from headwater.adapters.search.writer import BulkWriter
from headwater.core.ports.search import BulkAction
from headwater.core.tenancy import events_alias, events_index
from tests.support.own_engines import own_search
from tests.support.services import Endpoints, settings_for

pytestmark = [pytest.mark.integration, pytest.mark.smoke]


async def test_writer_waits_out_an_outage_and_loses_nothing(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    with own_search(endpoints.kind, tmp_path / "search") as server:
        settings = settings_for(endpoints, tmp_path, search=server.address)
        store = await connect_search(settings, client="opensearch")
        try:
            alias = await provision_events(store, settings, "default", "production")
            index = events_index(settings.index_prefix, "default", "production", datetime.now(UTC))
            writer = BulkWriter(store, max_backoff=0.5)
            actions = [BulkAction(index, f"o{i}", {"id": f"o{i}", "type": "t"}) for i in range(50)]
            await writer.ensure_indices(actions)
            await writer.write(actions[:10])

            await asyncio.to_thread(server.stop if server.durable else server.pause)
            write = asyncio.create_task(writer.write(actions))
            done, _ = await asyncio.wait({write}, timeout=2.0)
            assert not done, "the writer must hold on while the search engine is down"

            await asyncio.to_thread(server.start if server.durable else server.resume)
            rejected = await asyncio.wait_for(write, 90)
            assert rejected == []
            await store.refresh(alias)
            assert (
                await store.count(events_alias(settings.index_prefix, "default", "production"))
                == 50
            )
            # the 10 written before the outage are still there (op create: found, not
            # written again), on OpenSearch after a restart
            assert (writer.written, writer.already_there) == (50, 10)
        finally:
            await store.close()
