"""Two workers split the partitions, nothing is processed twice, and when one leaves the
other takes its partitions over with counters still exact."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from headwater.core.tenancy import profiles_alias
from headwater.infra.init import run_init
from headwater.infra.search import SearchStore, connect_search
from tests.e2e.test_worker_crash import produce
from tests.support.polling import eventually
from tests.support.processes import start_worker
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e

_ROW = re.compile(r"^\|\s*(\S+-changelog|〃)\s*\|\s*(\d+)\s*\|")


def active_partitions(log: Path) -> set[int]:
    """Partitions of the worker's last assignment, from Faust's recovery table."""
    text = log.read_text(errors="replace") if log.exists() else ""
    tables = text.split("Highwater for active changelog partitions")
    if len(tables) < 2:
        return set()
    lines = tables[-1].splitlines()[4:]  # after the title, header and rule lines
    partitions: set[int] = set()
    topic = ""
    for line in lines:
        match = _ROW.match(line.strip())
        if match is None:
            break
        topic = topic if match.group(1) == "〃" else match.group(1)  # 〃: same as above
        if topic.endswith("-profiles-changelog"):
            partitions.add(int(match.group(2)))
    return partitions


async def profiles_sum(store: SearchStore, alias: str) -> int:
    await store.refresh(alias)
    hits = (await store.search(alias, size=200))["hits"]["hits"]
    return sum(h["_source"]["stats"]["events"] for h in hits)


async def test_two_workers_split_partitions_and_hand_them_over(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path, partitions=4)
    await run_init(settings)
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    alias = profiles_alias(settings.index_prefix, "default", "production")
    log_a, log_b = tmp_path / "worker-a.log", tmp_path / "worker-b.log"
    # each worker process has its own data directory (RocksDB locks its files)
    worker_a = start_worker(settings, log_a, HEADWATER_DATA_DIR=str(tmp_path / "a"))
    worker_b = None
    try:
        await eventually(lambda: _true(active_partitions(log_a) == {0, 1, 2, 3}), timeout=60)
        joined = time.monotonic()
        worker_b = start_worker(settings, log_b, HEADWATER_DATA_DIR=str(tmp_path / "b"))

        async def split() -> bool:
            a, b = active_partitions(log_a), active_partitions(log_b)
            return bool(a and b and not a & b and a | b == {0, 1, 2, 3})

        await eventually(split, timeout=90, every=0.2)
        join_seconds = time.monotonic() - joined

        ids = await produce(settings, 500)  # 2,000 events for 50 profiles
        await eventually(
            lambda: _at_least(profiles_sum(store, alias), len(ids)), timeout=120, every=0.5
        )

        left = time.monotonic()
        worker_b.stop()  # graceful leave (SIGTERM)
        await eventually(
            lambda: _true(active_partitions(log_a) == {0, 1, 2, 3}), timeout=90, every=0.2
        )
        leave_seconds = time.monotonic() - left

        more = await produce(settings, 500)
        total = len(ids) + len(more)
        await eventually(lambda: _at_least(profiles_sum(store, alias), total), timeout=120)
        assert await profiles_sum(store, alias) == total  # nothing counted twice
        print(f"rebalance: join {join_seconds:.1f}s, leave {leave_seconds:.1f}s")
    finally:
        worker_a.stop()
        if worker_b is not None:
            worker_b.stop()
        await store.close()


async def _true(value: bool) -> bool:
    return value


async def _at_least(count: object, target: int) -> bool:
    return await count >= target  # type: ignore[misc,operator]
