"""With the broker gone the collector answers 503, never 200; when it returns, the same
collector process accepts events again."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from headwater.infra.embedded import (
    ManagedProcess,
    free_port,
    start_process,
    start_tansu,
    wait_http,
)
from headwater.infra.init import run_init
from tests.support.polling import eventually
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_broker(endpoints: Endpoints, tmp_path: Path) -> Iterator[tuple[ManagedProcess, int]]:
    if endpoints.kind != "embedded":
        pytest.skip("stops and restarts its own embedded broker")
    port = free_port()
    broker = start_tansu(port, tmp_path / "kafka.log")
    yield broker, port
    broker.stop()


async def test_collector_answers_503_while_broker_is_down(
    own_broker: tuple[ManagedProcess, int], endpoints: Endpoints, tmp_path: Path
) -> None:
    first_broker, port = own_broker
    tmp = tmp_path
    settings = settings_for(endpoints, tmp, kafka=f"127.0.0.1:{port}", produce_timeout=2.0)
    init = await run_init(settings)
    collector_port = free_port()
    env = {
        "HEADWATER_KAFKA": settings.kafka_servers,
        "HEADWATER_SEARCH": endpoints.search,
        "HEADWATER_TOPIC_PREFIX": settings.topic_prefix,
        "HEADWATER_INDEX_PREFIX": settings.index_prefix,
        "HEADWATER_PRODUCE_TIMEOUT": "2",
        "PATH": "/usr/bin:/bin",
    }
    collector = start_process(
        "collector",
        [sys.executable, "-m", "headwater", "collector", "--port", str(collector_port)],
        log_path=tmp / "collector.log",
        env=env,
    )
    url = f"http://127.0.0.1:{collector_port}"
    body = {"source": {"id": init.sources["production"]}, "events": [{"type": "page-view"}]}
    broker: ManagedProcess | None = None
    try:
        wait_http(f"{url}/health/ready", 60, collector)
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            assert (await http.post("/track", json=body)).status_code == 200

            await asyncio.to_thread(first_broker.stop)
            answers = [await http.post("/track", json=body) for _ in range(5)]
            assert [a.status_code for a in answers] == [503] * 5
            assert all(a.headers["retry-after"].isdigit() for a in answers)
            assert "unavailable" in answers[0].json()["error"]
            assert (await http.get("/health/ready")).status_code == 503

            # The broker comes back (in-memory storage: init recreates the topics).
            broker = start_tansu(port, tmp / "kafka-2.log")
            await run_init(settings)

            async def accepted() -> bool:
                return (await http.post("/track", json=body)).status_code == 200

            await eventually(accepted, timeout=60, every=0.5)
            assert (await http.get("/health/ready")).status_code == 200
    finally:
        collector.stop()
        if broker is not None:
            broker.stop()
