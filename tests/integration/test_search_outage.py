"""A search outage holds the writer back; nothing is dropped and it resumes by itself."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from headwater.core.tenancy import events_alias, events_index
from headwater.infra.embedded import free_port, start_osmem
from headwater.infra.search import BulkAction, connect_search
from headwater.infra.search.provision import provision_events
from headwater.infra.search.writer import BulkWriter
from tests.support.services import Endpoints, settings_for

pytestmark = [pytest.mark.integration, pytest.mark.smoke]


async def test_writer_waits_out_an_outage_and_loses_nothing(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    if not endpoints.standins:
        pytest.skip("stops and restarts its own stand-in search server")
    port = free_port()
    server = start_osmem(port, tmp_path / "search.log")
    settings = settings_for(endpoints, tmp_path, search=f"http://127.0.0.1:{port}")
    store = await connect_search(settings, client="opensearch")
    try:
        alias = await provision_events(store, settings, "default", "production")
        index = events_index(settings.index_prefix, "default", "production", datetime.now(UTC))
        writer = BulkWriter(store, max_backoff=0.5)
        actions = [BulkAction(index, f"o{i}", {"id": f"o{i}", "type": "t"}) for i in range(50)]
        await writer.ensure_indices(actions)

        await asyncio.to_thread(server.stop)
        write = asyncio.create_task(writer.write(actions))
        done, _ = await asyncio.wait({write}, timeout=2.0)
        assert not done, "the writer must hold on while the search engine is down"

        server = start_osmem(port, tmp_path / "search-2.log")  # back, and empty
        await provision_events(store, settings, "default", "production")
        rejected = await asyncio.wait_for(write, 60)
        assert rejected == []
        await store.refresh(alias)
        assert await store.count(events_alias(settings.index_prefix, "default", "production")) == 50
        assert writer.written == 50
    finally:
        await store.close()
        server.stop()
