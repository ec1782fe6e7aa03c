"""The MQTT broker restarted mid-stream: the bridge reconnects with back-off, its
persistent session gives it what it had not acknowledged and what came meanwhile, also
while the bridge itself was stopped, and every message reaches intake, each as one
event id."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from headwater.infra.init import InitResult
from headwater.schemas import INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.topics import Topics
from tests.support.bridges import (
    connected,
    mqtt_bridge,
    publish_bridge,
    publish_mqtt,
    running_bridges,
)
from tests.support.channels import ChannelUnavailable, start_mosquitto, stop_group
from tests.support.kafka import read_topic
from tests.support.polling import eventually

pytestmark = pytest.mark.integration

# Sessions and queued messages on disk. ``user root``: a Mosquitto started as root
# otherwise writes as user mosquitto, which can't enter the test's private directory
# (started as any other user, the line has no effect).
KEEP = "persistence true\npersistence_location {state}/\nautosave_interval 1\nuser root\n"


class Mosquitto:
    """A Mosquitto of this test, that keeps sessions on disk across a restart."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.server, self._popen = start_mosquitto(state, KEEP.format(state=state))

    def restart(self) -> None:
        self.stop()
        self.server, self._popen = start_mosquitto(
            self.state, KEEP.format(state=self.state), port=self.server.port
        )

    def stop(self) -> None:
        stop_group(self._popen.pid)
        self._popen.wait(10)


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    try:
        broker = Mosquitto(tmp_path / "mosquitto")
    except ChannelUnavailable as exc:
        pytest.skip(str(exc))
    yield broker
    broker.stop()


def _readings(topic: str, ns: range) -> list[tuple[str, bytes]]:
    return [(topic, orjson.dumps({"id": f"m{n}", "n": n})) for n in ns]


async def test_the_mqtt_bridge_reconnects_after_a_broker_restart_and_loses_nothing(
    shared_settings: Settings, initialized: InitResult, mosquitto: Mosquitto
) -> None:
    settings = shared_settings
    bridge_id, topic = str(uuid.uuid4()), f"{settings.topic_prefix}/meter"
    config = mqtt_bridge(mosquitto.server, [topic], event_type="value:meter", event_id=["json:id"])
    await publish_bridge(settings, bridge_id, config)
    async with running_bridges(settings, "mqtt") as process:
        await connected(process, bridge_id)
        await publish_mqtt(mosquitto.server, _readings(topic, range(300)))
        await asyncio.to_thread(mosquitto.restart)  # mid-stream: some not yet taken
        await publish_mqtt(mosquitto.server, _readings(topic, range(300, 600)))

        async def reconnected() -> bool:
            stats = process.stats[bridge_id]
            return stats.connects >= 2 and stats.delivered >= 600  # redeliveries count too

        await eventually(reconnected, timeout=30)
    # the bridge away while messages come and the broker restarts: its session keeps them
    await publish_mqtt(mosquitto.server, _readings(topic, range(600, 900)))
    await asyncio.to_thread(mosquitto.restart)
    async with running_bridges(settings, "mqtt") as process:
        await connected(process, bridge_id)

        async def caught_up() -> bool:
            return process.stats[bridge_id].delivered >= 300

        await eventually(caught_up, timeout=30)

    wanted = {f"m{n}" for n in range(900)}
    seen: set[str] = set()

    def complete(records: list[dict[str, Any]]) -> bool:
        seen.update(orjson.loads(r["events"][0]["properties"])["id"] for r in records)
        return wanted <= seen

    try:
        records = await read_topic(
            settings.kafka_servers,
            Topics(settings.topic_prefix).intake,
            INTAKE_BATCH,
            until=complete,
            timeout=30,
        )
    except TimeoutError:
        missing = sorted(wanted - seen, key=lambda i: int(i[1:]))
        raise AssertionError(f"{len(missing)} never reached intake: {missing[:20]}...") from None
    by_id: dict[str, set[str]] = {}
    for record in records:
        [event] = record["events"]
        by_id.setdefault(orjson.loads(event["properties"])["id"], set()).add(event["id"])
    assert set(by_id) == wanted
    assert all(len(ids) == 1 for ids in by_id.values())  # a redelivery is the same event
