"""A collector that has not read its configuration yet asks clients to retry (503),
rather than telling them the source does not exist (401, which SDKs never retry)."""

from __future__ import annotations

import gc
from pathlib import Path

import httpx
import pytest

from headwater.collector.app import YOUNG_GC_THRESHOLD
from headwater.streams.kafka import ensure_topics
from headwater.streams.topics import Topics
from tests.integration.conftest import running_collector
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.integration


async def test_before_configuration_is_read_events_get_503(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    # Topics exist but the config topic was never created: the log cannot be read.
    settings = settings_for(endpoints, tmp_path, config_wait=0.5)
    topics = Topics(settings.topic_prefix)
    specs = [spec for spec in topics.specs(settings.partitions) if spec.name != topics.config]
    await ensure_topics(settings, specs)

    async with running_collector(settings) as url, httpx.AsyncClient(base_url=url) as http:
        answer = await http.post(
            "/track", json={"source": {"id": "any"}, "events": [{"type": "page-view"}]}
        )
        ready = await http.get("/health/ready")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == str(settings.retry_after)
    assert "loading" in answer.json()["error"]
    assert ready.status_code == 503 and ready.json()["config"] is False


async def test_a_serving_collector_collects_its_young_objects_rarely(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    """Requests waiting for Kafka keep their objects alive: at CPython's default (700)
    every young collection would scan every request in flight (docs/performance.md)."""
    settings = settings_for(endpoints, tmp_path, config_wait=0.5)
    before = gc.get_threshold()
    async with running_collector(settings):
        assert gc.get_threshold() == (YOUNG_GC_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before  # a process that goes on (tests) gets its own back
