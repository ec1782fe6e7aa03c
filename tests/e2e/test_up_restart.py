"""``headwater up`` stopped with Ctrl-C and started again, and ``up`` where another
stack already runs: a second start always works or says at once why it cannot."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.commands.embedded import port_in_use
from headwater.core.tenancy import events_alias
from tests.e2e.conftest import UpStack, free_port_run, run_up, start_up
from tests.support.polling import eventually
from tests.support.services import Endpoints

pytestmark = pytest.mark.e2e


async def track_and_find(info: dict[str, Any], url: str) -> dict[str, Any]:
    """Send one page view to the collector; its document once it is searchable."""
    alias = events_alias("hw", info["tenant"], info["env"])
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{info['collector']}/track",
            json={
                "source": {"id": info["source_id"]},
                "events": [{"type": "page-view", "properties": {"url": url}}],
            },
        )
        assert response.status_code == 200, response.text
        event_id = response.json()["events"][0]

        async def stored() -> list[dict[str, Any]] | None:
            hits = await http.post(
                f"{info['search']}/{alias}/_search",
                json={"query": {"ids": {"values": [event_id]}}},
            )
            return hits.json()["hits"]["hits"] if hits.status_code == 200 else None

        hits = await eventually(stored, timeout=30, every=0.2)
    return dict(hits[0]["_source"])


def ctrl_c(stack: UpStack) -> None:
    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(60) == 0


async def test_up_starts_again_after_ctrl_c_on_the_same_data_dir(tmp_path: Path) -> None:
    base = free_port_run(4)
    with run_up(tmp_path, None, base) as first:
        assert (await track_and_find(first.info, "/first"))["properties"] == {"url": "/first"}
        ctrl_c(first)
    with run_up(tmp_path, None, base) as second:
        document = await track_and_find(second.info, "/second")
        assert document["properties"] == {"url": "/second"}
        assert second.process.poll() is None, (tmp_path / "logs" / "worker.log").read_text()
        # each run writes its own logs; the previous run's are kept beside them
        worker_log = (tmp_path / "logs" / "worker.log").read_text()
        assert worker_log.count("Ready") == 1
        assert "Ready" in (tmp_path / "logs" / "worker.log.1").read_text()
        ctrl_c(second)


def test_up_on_busy_ports_stops_at_once_naming_the_port(tmp_path: Path) -> None:
    base = free_port_run(4)
    busy = base + 2  # the embedded broker's port, as when another stack runs
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", busy))
        taken.listen()
        started = time.monotonic()
        process, out = start_up(tmp_path / "other", None, base)
        try:
            code = process.wait(30)
        finally:
            if process.poll() is None:
                process.kill()
        elapsed = time.monotonic() - started
    message = out.read_text()
    assert code != 0
    assert str(busy) in message and "--port-base" in message, message
    assert elapsed < 15
    assert not (tmp_path / "other" / "logs" / "worker.log").exists()  # nothing was started


async def test_up_keeps_worker_state_built_from_a_real_broker(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    """With HEADWATER_KAFKA set the log outlives ``up``, and so does the state built from it."""
    with run_up(tmp_path, endpoints) as first:
        ctrl_c(first)
    slot = next((tmp_path / "worker" / "headwater-worker").glob("slot-*"))
    kept = slot / "kept-between-runs"
    kept.touch()
    with run_up(tmp_path, endpoints) as second:
        assert kept.exists()
        await track_and_find(second.info, "/kept")
        ctrl_c(second)


def test_ctrl_c_while_starting_stops_at_once(tmp_path: Path) -> None:
    base = free_port_run(4)
    process, out = start_up(tmp_path, None, base)
    try:
        collector_log = tmp_path / "logs" / "collector.log"
        deadline = time.monotonic() + 60
        while not collector_log.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert collector_log.exists(), out.read_text()
        process.send_signal(signal.SIGINT)  # the worker is not ready yet
        code = process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 130, out.read_text()
    assert "stopped before it was ready" in out.read_text()
    assert not any(port_in_use("127.0.0.1", base + n) for n in range(4))  # nothing left
