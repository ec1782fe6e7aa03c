"""``headwater up --engines apache``: the platform on Apache Kafka and OpenSearch, whose
data (topics, indices, worker state, configuration, API secret) survives Ctrl-C and a
start on the same data directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.core.tenancy import events_alias, profiles_alias
from tests.e2e.conftest import free_port_run, headwater_command, run_up, start_up
from tests.e2e.test_up_restart import ctrl_c
from tests.support.polling import eventually
from tests.support.services import apache_available

pytestmark = pytest.mark.e2e

APACHE = ("--engines", "apache")
READY = 300  # two JVMs on a busy shared machine: 20-90 s
ADMIN = "admin@example.com"
PASSWORD = "a long local password"


def apache_or_skip() -> None:
    reason = apache_available()
    if reason is not None and not os.environ.get("CI"):  # CI must run it
        pytest.skip(reason)


async def track(info: dict[str, Any], source_id: str, profile: str, count: int) -> list[str]:
    """``count`` page views of ``profile`` through the collector; their event ids."""
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{info['collector']}/track",
            json={
                "source": {"id": source_id},
                "profile": {"id": profile},
                "events": [{"type": "page-view", "properties": {"n": n}} for n in range(count)],
            },
        )
    assert response.status_code == 200, response.text
    return list(response.json()["events"])


async def searchable(info: dict[str, Any], event_ids: list[str]) -> None:
    alias = events_alias("hw", info["tenant"], info["env"])

    async def all_found() -> bool:
        async with httpx.AsyncClient() as http:
            hits = await http.post(
                f"{info['search']}/{alias}/_search",
                json={"query": {"ids": {"values": event_ids}}, "size": len(event_ids)},
            )
        found = {hit["_id"] for hit in hits.json()["hits"]["hits"]} if hits.is_success else set()
        return found == set(event_ids)

    await eventually(all_found, timeout=60, every=0.5)


async def counted(info: dict[str, Any], profile: str, events: int) -> None:
    """Wait until ``profile``'s document in search counts exactly ``events`` events."""
    alias = profiles_alias("hw", info["tenant"], info["env"])
    last: list[int] = []

    async def exact() -> bool:
        async with httpx.AsyncClient() as http:
            hits = await http.post(
                f"{info['search']}/{alias}/_search",
                json={"query": {"ids": {"values": [profile]}}},
            )
        docs = hits.json()["hits"]["hits"] if hits.is_success else []
        last[:] = [doc["_source"]["stats"]["events"] for doc in docs]
        assert not last or last[0] <= events, f"{profile} counts {last[0]} > {events} events"
        return last == [events]

    await eventually(exact, timeout=60, every=0.5)


def create_admin(info: dict[str, Any]) -> None:
    """``headwater init --admin-email`` against the running stack (docs/operations.md)."""
    headwater_command(
        info, "init", "--admin-email", ADMIN, settings={"HEADWATER_ADMIN_PASSWORD": PASSWORD}
    )


async def login(api: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=api) as http:
        token = await http.post("/user/token", data={"username": ADMIN, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"authorization": f"Bearer {token.json()['access_token']}", "x-context": "production"}


@pytest.mark.timeout(900)
async def test_up_on_apache_engines_keeps_everything_across_ctrl_c(tmp_path: Path) -> None:
    apache_or_skip()
    base = free_port_run(5)
    with run_up(tmp_path, None, base, APACHE, READY) as first:
        info = first.info
        assert info["engines"] == "apache"
        assert info["engines_data"] == str(tmp_path / "engines")
        assert info["kafka"] == f"127.0.0.1:{base + 2}"
        assert info["search"] == f"http://127.0.0.1:{base + 3}"
        before = await track(info, info["source_id"], "kept-profile", 3)
        await searchable(info, before)
        await counted(info, "kept-profile", 3)
        create_admin(info)
        headers = await login(info["api"])
        async with httpx.AsyncClient(base_url=info["api"], headers=headers) as http:
            created = await http.post("/sources", json={"name": "made before the restart"})
        assert created.status_code == 201, created.text
        source = created.json()["id"]
        ctrl_c(first)  # exit code 0: everything, the engines too, stopped cleanly
    assert (tmp_path / "engines" / "kafka" / "logs" / ".kafka_cleanshutdown").exists()
    slot = next((tmp_path / "worker" / "headwater-worker").glob("slot-*"))
    (slot / "kept-between-runs").touch()

    with run_up(tmp_path, None, base, APACHE, READY) as second:
        again = second.info
        assert (slot / "kept-between-runs").exists()  # the worker's state was not dropped
        assert (again["source_id"], again["write_key"]) == (info["source_id"], info["write_key"])
        await searchable(again, before)
        # the same token: the API secret survived; the source: the configuration did
        async with httpx.AsyncClient(base_url=again["api"], headers=headers) as http:
            kept = await http.get(f"/sources/{source}")
        assert kept.status_code == 200, kept.text
        assert kept.json()["name"] == "made before the restart"
        after = await track(again, source, "kept-profile", 2)  # through the kept source
        await searchable(again, after)
        await counted(again, "kept-profile", 3 + 2)
        ctrl_c(second)


def test_up_on_apache_engines_without_java_says_what_to_install(tmp_path: Path) -> None:
    """One line naming the package, a non-zero exit, and nothing started."""
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADWATER_", "JAVA_"))}
    env["PATH"] = str(empty)
    where = ("--port-base", str(free_port_run(5)), "--data-dir", str(tmp_path / "data"))
    done = subprocess.run(
        [sys.executable, "-m", "headwater", "up", *APACHE, *where],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "headwater up: Java 17+ not found: install it (Debian: apt-get install -y "
        "openjdk-17-jdk-headless) or set JAVA_HOME"
    ]
    assert not (tmp_path / "data").exists()  # no lock, no logs, no process


def processes_using(path: Path) -> list[int]:
    """Pids of processes whose command line names ``path`` (the engines' JVMs do)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(path).encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:  # gone meanwhile
            continue
    return found


def test_ctrl_c_while_the_engines_start_stops_them_before_exiting(tmp_path: Path) -> None:
    apache_or_skip()
    process, out = start_up(tmp_path, None, free_port_run(5), *APACHE)
    try:
        kafka_log = tmp_path / "logs" / "kafka.log"
        deadline = time.monotonic() + 120
        while "Kafka Server started" not in (kafka_log.read_text() if kafka_log.exists() else ""):
            assert time.monotonic() < deadline and process.poll() is None, out.read_text()
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)  # OpenSearch is starting now
        code = process.wait(150)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 130, out.read_text()
    assert processes_using(tmp_path / "engines") == []  # both stopped, not left to exit
