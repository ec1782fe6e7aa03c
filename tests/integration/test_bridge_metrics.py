"""A bridge process counts the channel messages it acks and dead-letters, and serves
them on its health listener's ``/metrics``."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import orjson
import pytest
from fastapi import FastAPI

from headwater.bridges import create_app
from headwater.commands.init import run_init
from tests.support.bridges import (
    connected,
    mqtt_bridge,
    publish_bridge,
    publish_mqtt,
    running_bridges,
)
from tests.support.channels import MqttServer
from tests.support.metrics import Scrape, scrape
from tests.support.polling import eventually
from tests.support.services import Endpoints, settings_for

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def _scrape(app: FastAPI) -> Scrape:
    return await scrape("http://bridge/metrics", transport=httpx.ASGITransport(app=app))


async def test_a_bridge_counts_acked_and_dead_lettered_messages(
    endpoints: Endpoints, mqtt: MqttServer, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path)
    await run_init(settings)
    app = create_app(settings, "mqtt")  # its lifespan is not run: only /metrics is asked
    bridge_id, base = str(uuid.uuid4()), f"{settings.topic_prefix}/metrics"
    config = mqtt_bridge(mqtt, [f"{base}/+"], event_type="topic:-1", profile_id="json:owner")
    await publish_bridge(settings, bridge_id, config)
    messages = "headwater_bridge_messages_total"
    before = await _scrape(app)
    async with running_bridges(settings, "mqtt") as process:
        await connected(process, bridge_id)
        good = orjson.dumps({"owner": "ann"})
        await publish_mqtt(
            mqtt, [(f"{base}/a", good), (f"{base}/b", b"{not json"), (f"{base}/c", good)]
        )

        async def settled() -> bool:
            stats = process.stats[bridge_id]
            return stats.delivered == 2 and stats.dead_lettered == 1

        await eventually(settled, timeout=30)
        after = await _scrape(app)
    for outcome, count in (("acked", 2), ("dead_lettered", 1)):
        moved = after.value(messages, kind="mqtt", outcome=outcome) - before.value(
            messages, kind="mqtt", outcome=outcome
        )
        assert moved == count, outcome
    rejected = "headwater_events_rejected_total"
    labels = {"service": "bridge", "channel": "mqtt", "reason": "mapping"}
    assert after.value(rejected, **labels) - before.value(rejected, **labels) == 1
