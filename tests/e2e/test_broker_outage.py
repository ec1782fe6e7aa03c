"""With the broker gone the collector answers 503, never 200; when it returns, the same
collector process accepts events again. A worker's outputs queued while the broker is
gone are sent once it is back, never dropped."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from headwater.commands.embedded import free_port, start_process, wait_http
from headwater.commands.init import run_init
from headwater.streams.kafka import ensure_topics
from headwater.streams.sender import RetryingSender
from headwater.streams.topics import TopicSpec
from tests.support.kafka import read_topic
from tests.support.own_engines import OwnEngine
from tests.support.own_engines import own_broker as start_own_broker
from tests.support.polling import eventually
from tests.support.services import Endpoints, settings_for

pytestmark = [pytest.mark.e2e, pytest.mark.smoke]


@pytest.fixture
def own_broker(endpoints: Endpoints, tmp_path: Path) -> Iterator[OwnEngine]:
    """A broker of the suite's kind that this test alone stops and starts."""
    with start_own_broker(endpoints.kind, tmp_path) as broker:
        yield broker


async def test_collector_answers_503_while_broker_is_down(
    own_broker: OwnEngine, endpoints: Endpoints, tmp_path: Path
) -> None:
    broker = own_broker
    tmp = tmp_path
    settings = settings_for(endpoints, tmp, kafka=broker.address, produce_timeout=2.0)
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
    try:
        wait_http(f"{url}/health/ready", 60, collector)
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            assert (await http.post("/track", json=body)).status_code == 200

            await asyncio.to_thread(broker.stop)
            answers = [await http.post("/track", json=body) for _ in range(5)]
            assert [a.status_code for a in answers] == [503] * 5
            assert all(a.headers["retry-after"].isdigit() for a in answers)
            assert "unavailable" in answers[0].json()["error"]
            assert (await http.get("/health/ready")).status_code == 503

            # The broker comes back on the same port and data; a stand-in lost its
            # topics (in memory), so init creates them again.
            await asyncio.to_thread(broker.start)
            if not broker.durable:
                await run_init(settings)

            async def accepted() -> bool:
                return (await http.post("/track", json=body)).status_code == 200

            await eventually(accepted, timeout=60, every=0.5)
            assert (await http.get("/health/ready")).status_code == 200
    finally:
        collector.stop()


async def test_worker_outputs_wait_for_a_hung_broker_and_are_sent_when_it_resumes(
    own_broker: OwnEngine, endpoints: Endpoints, tmp_path: Path
) -> None:
    broker = own_broker
    settings = settings_for(
        endpoints, tmp_path, kafka=broker.address, produce_timeout=1.0, stage_max_backoff=1.0
    )
    topic = f"{settings.topic_prefix}-outputs"
    await ensure_topics(settings, [TopicSpec(topic, 2, {})])
    sender = RetryingSender(settings, "test")
    await sender.producer.start(wait=10)
    try:
        await (await sender(topic, b"k", b"before"))
        broker.pause()  # hung: connections open, no answers
        try:
            queued = [
                await sender(topic, f"k{n}".encode(), f"during-{n}".encode()) for n in range(3)
            ]
            await asyncio.sleep(3)  # past the 1 s produce deadline: the sends failed and retry
            # held back, neither dropped nor "sent"
            assert not any(f.done() for f in queued), [
                f.exception() or f.result() for f in queued if f.done()
            ]
        finally:
            broker.resume()
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
