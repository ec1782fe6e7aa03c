"""``headwater collector --workers 2``: several processes share the port and all work."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from headwater.commands.embedded import free_port, start_process, wait_http
from headwater.commands.init import run_init
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e


async def test_two_collector_processes_accept_events(endpoints: Endpoints, tmp_path: Path) -> None:
    settings = settings_for(endpoints, tmp_path)
    init = await run_init(settings)
    port = free_port()
    env = {
        "HEADWATER_KAFKA": settings.kafka_servers,
        "HEADWATER_TOPIC_PREFIX": settings.topic_prefix,
        "PATH": "/usr/bin:/bin",
    }
    collector = start_process(
        "collector",
        [sys.executable, "-m", "headwater", "collector", "--port", str(port), "--workers", "2"],
        log_path=tmp_path / "collector.log",
        env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/health/ready", 60, collector)
        body = {"source": {"id": init.sources["production"]}, "events": [{"type": "t"}]}
        async with httpx.AsyncClient(base_url=url) as http:
            answers = [await http.post("/track", json=body) for _ in range(20)]
        assert [a.status_code for a in answers] == [200] * 20
        assert len({a.json()["profile"]["id"] for a in answers}) == 20
    finally:
        collector.stop()
    log = (tmp_path / "collector.log").read_text()
    assert log.count("Started server process") == 2
