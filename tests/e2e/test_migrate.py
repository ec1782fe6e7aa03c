"""``headwater migrate apply`` brings an installation an earlier release made forward
while events keep coming in, survives being killed mid-step, and its replay job
survives the worker running it being killed."""

from __future__ import annotations

import asyncio
import copy
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from headwater.adapters.search import connect_search
from headwater.adapters.search.templates import events_template
from headwater.agents import migrations
from headwater.commands.embedded import ManagedProcess, start_process
from headwater.commands.init import run_init
from headwater.core.jobs import Job
from headwater.core.ports.search import SearchStore
from headwater.core.tenancy import (
    ENVIRONMENTS,
    events_alias,
    events_index,
    generation_index,
    profiles_alias,
)
from headwater.settings import Settings
from headwater.streams.jobs_log import read_jobs
from headwater.streams.kafka import AckedProducer, kafka_client_options
from headwater.streams.topic_admin import existing_topics, set_topic_configs
from headwater.streams.topics import Topics
from tests.support.intake import Sender
from tests.support.polling import eventually
from tests.support.processes import worker_env
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e

PROFILES = [f"p{n:02d}" for n in range(30)]
HOT = PROFILES[:5]


def events_template_before_limits(settings: Settings, tenant: str, env: str) -> dict[str, Any]:
    """The events template of the release before 4edb222, which added
    ``metadata.limits`` (recovered with ``git show 4edb222 -- .../templates.py``)."""
    body = events_template(
        prefix=settings.index_prefix,
        tenant=tenant,
        env=env,
        engine="opensearch",
        shards=settings.index_shards,
        replicas=settings.index_replicas,
    )
    body = copy.deepcopy(body)
    del body["template"]["mappings"]["properties"]["metadata"]["properties"]["limits"]
    return body


async def make_earlier_release(settings: Settings, store: SearchStore) -> None:
    """What an earlier release left: no jobs topic (it came with jobs), no config
    history topic (before a6906ff: every entry lives on hw.config only), events indices
    made with the template before 4edb222, and a profiles topic whose compaction was
    lost (made by hand: the reconfiguration case)."""
    await run_init(settings)
    topics = Topics(settings.topic_prefix)
    admin = AIOKafkaAdminClient(**kafka_client_options(settings))
    await admin.start()
    try:
        await admin.delete_topics([topics.jobs, topics.config_history])
    finally:
        await admin.close()

    async def gone() -> bool:
        names = await existing_topics(settings)
        return topics.jobs not in names and topics.config_history not in names

    await eventually(gone, timeout=30, every=0.5)
    await set_topic_configs(settings, topics.profiles, {"cleanup.policy": "delete"})
    for env in ENVIRONMENTS:
        alias = events_alias(settings.index_prefix, "default", env)
        await store.delete_indices(await store.list_indices(f"{alias}-*"))
        await store.put_index_template(
            alias, events_template_before_limits(settings, "default", env)
        )
        await store.ensure_index(events_index(settings.index_prefix, "default", env, _now()), alias)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


STAGES = "profile,identity,storage,destinations"


def start_agents(settings: Settings, tmp_path: Path, name: str, agents: str) -> ManagedProcess:
    return start_process(
        name,
        [sys.executable, "-m", "headwater", "worker", "--agents", agents],
        log_path=tmp_path / f"{name}.log",
        env=worker_env(settings, HEADWATER_DATA_DIR=str(tmp_path / "data" / name)),
    )


def start_apply(settings: Settings, log: Path) -> ManagedProcess:
    return start_process(
        "migrate",
        [sys.executable, "-m", "headwater", "migrate", "apply"],
        log_path=log,
        env=worker_env(settings, HEADWATER_MIGRATE_REPLAY_FOLLOW="4"),
    )


async def job_of(settings: Settings, prefix: str) -> Job | None:
    book = await read_jobs(settings)
    found = [j for j in book.jobs() if j.id.startswith(prefix)]
    return found[0] if found else None


async def test_migrate_apply_while_collecting_killed_mid_step_and_its_job_worker_killed(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    started = time.monotonic()
    settings = settings_for(endpoints, tmp_path)
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    processes: list[ManagedProcess] = []
    try:
        await make_earlier_release(settings, store)
        async with migrations.open_installation(
            settings, node_class=endpoints.es_node_class
        ) as inst:
            before = {step.id for step in await migrations.plan(inst)}
        assert before == {
            "topics",
            "topic-configs",
            "config-history",
            "search-templates",
            "search-reindex",
        }

        sender = Sender(settings, producer)
        for profile in PROFILES:
            await sender.send(
                profile, [{"type": "page-view", "properties": {"n": n}} for n in range(5)]
            )
        # the stages in one worker, and two workers that run jobs only
        processes.append(start_agents(settings, tmp_path, "main", STAGES))
        jobs_workers = [start_agents(settings, tmp_path, f"jobs-{n}", "jobs") for n in (1, 2)]
        processes += jobs_workers
        events = events_alias(settings.index_prefix, "default", "production")
        profiles = profiles_alias(settings.index_prefix, "default", "production")

        async def stored() -> int:
            await store.refresh(events)
            return await store.count(events)

        await eventually(lambda: _at_least(stored, len(sender.ids)), timeout=120, every=1)

        sending = True

        async def trickle() -> None:  # collection goes on across the whole migration
            n = 0
            while sending:
                for profile in HOT:
                    await sender.send(profile, [{"type": "purchase", "properties": {"n": n}}])
                n += 1
                await asyncio.sleep(0.5)

        trickling = asyncio.create_task(trickle())

        first = start_apply(settings, tmp_path / "apply-1.log")
        processes.append(first)
        reindex = "migrate-reindex-default-production-1-"

        async def running_job() -> Job | None:
            job = await job_of(settings, reindex)
            return job if job is not None and job.state == "running" else None

        job = await eventually(running_job, timeout=120, every=0.2)
        # killed mid-step: the apply follows the replay job it asked for, and the worker
        # running that job dies with it
        os.kill(first.popen.pid, signal.SIGKILL)
        assert job.worker is not None
        pid = int(job.worker.rsplit(":", 1)[1])
        victim = next(p for p in jobs_workers if p.popen.pid == pid)
        os.kill(pid, signal.SIGKILL)
        victim.popen.wait(5)
        first.popen.wait(5)

        second = start_apply(settings, tmp_path / "apply-2.log")
        processes.append(second)
        await asyncio.to_thread(second.popen.wait, 240)
        assert second.popen.returncode == 0, second.log_text()[-3000:]

        sending = False
        await trickling

        # the same job, resumed by the other worker; not asked for a second time
        done = await job_of(settings, reindex)
        assert done is not None and done.id == job.id and done.state == "done"
        assert done.attempts == 2 and done.worker != job.worker
        assert not [j for j in (await read_jobs(settings)).jobs() if j.state != "done"]

        async with migrations.open_installation(
            settings, node_class=endpoints.es_node_class
        ) as inst:
            assert await migrations.plan(inst) == []
            states = {s.id: s.state for s in await migrations.status(inst)}
        assert {states[s] for s in before} == {"applied"}

        # nothing lost, nothing twice, in the rebuilt generation
        await eventually(lambda: _at_least(stored, len(sender.ids)), timeout=120, every=1)
        await store.refresh(events)
        hits = (await store.search(events, size=len(sender.ids) + 100))["hits"]["hits"]
        ids = [h["_id"] for h in hits]
        assert len(ids) == len(set(ids)) == len(set(sender.ids)) == len(sender.ids)
        assert set(ids) == set(sender.ids)
        assert all("-000002-" in index for index in await store.get_alias(events))
        stats = await store.search(
            profiles_alias(settings.index_prefix, "default", "production"), size=100
        )
        folded = {h["_id"]: h["_source"]["stats"]["events"] for h in stats["hits"]["hits"]}
        assert folded == dict(sender.sent)  # every event folded once into its profile
        assert await store.get_alias(profiles) == [generation_index(profiles, 2)]
        mappings = await store.get_mappings(events)
        assert all("limits" in m["properties"]["metadata"]["properties"] for m in mappings.values())
        print(f"migration test wall time {time.monotonic() - started:.0f}s")
    finally:
        for process in processes:
            process.stop(5)
        await producer.stop()
        await store.close()


async def _at_least(count: Any, wanted: int) -> bool:
    return bool(await count() >= wanted)
