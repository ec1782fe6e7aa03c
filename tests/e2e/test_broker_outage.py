"""With the broker gone the collector answers 503, never 200; when it returns, the same
collector process accepts events again. A worker's outputs queued while the broker is
gone are sent once it is back, never dropped."""

from __future__ import annotations

import asyncio
import signal
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
from headwater.streams.kafka import ensure_topics
from headwater.streams.sender import RetryingSender
from headwater.streams.topics import TopicSpec
from tests.support.kafka import read_topic
from tests.support.polling import eventually
from tests.support.services import Endpoints, settings_for

pytestmark = [pytest.mark.e2e, pytest.mark.smoke]


@pytest.fixture
def own_broker(endpoints: Endpoints, tmp_path: Path) -> Iterator[tuple[ManagedProcess, int]]:
    if not endpoints.standins:
        pytest.skip("stops and restarts its own stand-in broker")
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


async def test_worker_outputs_wait_for_a_hung_broker_and_are_sent_when_it_resumes(
    own_broker: tuple[ManagedProcess, int], endpoints: Endpoints, tmp_path: Path
) -> None:
    broker, port = own_broker
    settings = settings_for(
        endpoints, tmp_path, kafka=f"127.0.0.1:{port}", produce_timeout=1.0, storage_max_backoff=1.0
    )
    topic = f"{settings.topic_prefix}-outputs"
    await ensure_topics(settings, [TopicSpec(topic, 2, {})])
    sender = RetryingSender(settings, "test")
    await sender.producer.start(wait=10)
    try:
        await (await sender(topic, b"k", b"before"))
        broker.popen.send_signal(signal.SIGSTOP)  # hung: connections open, no answers
        try:
            queued = [
                await sender(topic, f"k{n}".encode(), f"during-{n}".encode()) for n in range(3)
            ]
            await asyncio.sleep(3)  # past the 1 s produce deadline: the sends failed and retry
            assert not any(f.done() for f in queued)  # held back, neither dropped nor "sent"
        finally:
            broker.popen.send_signal(signal.SIGCONT)
        sent = await asyncio.wait_for(asyncio.gather(*queued), 60)
    finally:
        await sender.producer.stop()
    assert {metadata.topic for metadata in sent} == {topic}
    wanted = {b"during-0", b"during-1", b"during-2"}
    records = await read_topic(
        settings.kafka_servers,
        topic,
        None,
        until=lambda found: wanted <= {r["_value"] for r in found},
    )
    # at least once: a request the broker took before it hung may be written twice
    assert {r["_value"] for r in records} == wanted | {b"before"}
