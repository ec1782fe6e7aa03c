"""``kill -9`` of Apache Kafka under steady ``/track`` load, and a restart on the same data
and port: while it is down the collector answers 503 with ``Retry-After``; every request
answered 200, before or after, is stored exactly once, and every profile counter is exact.

Runs on Apache Kafka only: the stand-in broker keeps its topics in memory, so a restart
loses what it had acknowledged (tests/e2e/test_broker_outage.py covers its 503s).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from headwater.adapters.search import connect_search
from headwater.commands.embedded import ManagedProcess, free_port, wait_http
from headwater.commands.init import run_init
from headwater.core.ports.search import SearchStore
from headwater.core.tenancy import events_alias
from headwater.settings import Settings
from tests.support.own_engines import own_broker
from tests.support.polling import eventually
from tests.support.processes import start_collector, start_worker
from tests.support.services import Endpoints, settings_for
from tests.support.track_load import TrackLoad, assert_stored_exactly_once

pytestmark = pytest.mark.e2e


async def test_broker_killed_under_load_loses_and_duplicates_nothing(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    if endpoints.standins:
        pytest.skip("the stand-in broker keeps topics in memory: a restart loses them")
    with own_broker(endpoints.kind, tmp_path / "broker") as broker:
        settings = settings_for(endpoints, tmp_path, kafka=broker.address)
        init = await run_init(settings)
        port = free_port()
        fast = {"HEADWATER_PRODUCE_TIMEOUT": "2", "HEADWATER_RETRY_AFTER": "1"}
        collector = start_collector(settings, tmp_path / "collector.log", port, **fast)
        worker = start_worker(settings, tmp_path / "worker.log", HEADWATER_STAGE_MAX_BACKOFF="2")
        store = await connect_search(settings)
        load = TrackLoad(f"http://127.0.0.1:{port}", init.sources["production"])
        try:
            await asyncio.to_thread(wait_http, f"{load.url}/health/ready", 60, collector)
            load.start()
            # the broker dies while the worker processes: after it is ready and has stored
            await eventually(lambda: _logged(worker, "Worker ready"), timeout=90)
            await eventually(lambda: load.answered_at_least(100), timeout=60)
            await eventually(lambda: _stored_some(store, settings), timeout=60, every=0.5)

            broker.kill()
            killed = time.monotonic()
            await eventually(lambda: load.refused_at_least(3), timeout=30)
            await asyncio.to_thread(broker.start)  # same port, same data
            restarted = time.monotonic()
            await eventually(lambda: load.answered_after(restarted), timeout=60)
            back = load.first_answer_after(restarted)
            more = load.answered + 100
            await eventually(lambda: load.answered_at_least(more), timeout=60)
            await load.stop()
            print(
                f"broker kill -9: restarted after {restarted - killed:.1f}s, 200 again "
                f"{back - killed:.1f}s after the kill; {load.statuses[503]} answers 503, "
                f"{load.answered} requests stored"
            )

            assert collector.running and worker.running
            assert set(load.statuses) == {200, 503}
            assert load.retry_after and all(value == "1" for value in load.retry_after)
            # no 200 while the broker was down (but for requests it took just before the kill)
            assert load.answered_between(killed + 1.0, restarted) == 0
            await assert_stored_exactly_once(store, settings, load)
        finally:
            collector.stop()
            worker.stop()
            await store.close()


async def _logged(process: ManagedProcess, text: str) -> bool:
    return text in process.log_text()


async def _stored_some(store: SearchStore, settings: Settings) -> bool:
    alias = events_alias(settings.index_prefix, "default", "production")
    await store.refresh(alias)
    return await store.count(alias) > 0
