"""The search engine stops answering for 30 s (SIGSTOP: connections open, nothing
answers) under steady ``/track`` load: the collector keeps accepting, the storage stage
backs off and catches up when the engine is back, and every event is stored exactly
once with every profile counter exact."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from headwater.adapters.search import connect_search
from headwater.commands.embedded import free_port, wait_http
from headwater.commands.init import run_init
from headwater.core.ports.search import SearchStore
from headwater.core.tenancy import events_alias
from tests.support.own_engines import own_search
from tests.support.polling import eventually
from tests.support.processes import start_collector, start_worker
from tests.support.services import Endpoints, settings_for
from tests.support.track_load import TrackLoad, assert_stored_exactly_once

pytestmark = pytest.mark.e2e

OUTAGE = 30.0  # seconds


async def test_storage_waits_out_a_stopped_search_engine_and_catches_up(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    with own_search(endpoints.kind, tmp_path / "search") as search:
        settings = settings_for(endpoints, tmp_path, search=search.address)
        init = await run_init(settings)
        port = free_port()
        collector = start_collector(settings, tmp_path / "collector.log", port)
        worker = start_worker(settings, tmp_path / "worker.log", HEADWATER_STAGE_MAX_BACKOFF="2")
        store = await connect_search(settings, node_class=endpoints.es_node_class)
        events = events_alias(settings.index_prefix, "default", "production")
        load = TrackLoad(f"http://127.0.0.1:{port}", init.sources["production"])
        try:
            await asyncio.to_thread(wait_http, f"{load.url}/health/ready", 60, collector)
            load.start()
            await eventually(lambda: _stored_at_least(store, events, 100), timeout=90, every=0.5)

            search.pause()
            paused = time.monotonic()
            await asyncio.sleep(OUTAGE)
            accepted = load.answered_between(paused, time.monotonic())
            search.resume()
            resumed, sent = time.monotonic(), load.events
            await eventually(lambda: _stored_at_least(store, events, sent), timeout=90, every=0.2)
            caught_up = time.monotonic() - resumed
            more = load.answered + 50
            await eventually(lambda: load.answered_at_least(more), timeout=60)
            await load.stop()
            print(
                f"search stopped {OUTAGE:.0f}s: {accepted} requests accepted meanwhile, "
                f"all {sent} events sent before it resumed stored {caught_up:.1f}s after"
            )

            assert worker.running and collector.running
            assert accepted > 0  # the collector does not need the search engine
            assert "search engine unavailable" in worker.log_text()  # it backed off
            await assert_stored_exactly_once(store, settings, load)
        finally:
            collector.stop()
            worker.stop()
            await store.close()


async def _stored_at_least(store: SearchStore, alias: str, count: int) -> bool:
    await store.refresh(alias)
    return await store.count(alias) >= count
