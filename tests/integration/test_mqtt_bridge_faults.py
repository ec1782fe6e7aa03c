"""The MQTT bridge's subscriber (bridges/mqtt_connection.py) against a Mosquitto of the
test: a subscription the broker refuses is reported with its reason and retried; a
broker that stops answering (SIGSTOP: the TCP connection stays open) is taken as gone
after the keepalive, and the bridge reconnects once it answers again; the subscriber
works on uvloop, the bridge process's loop; ``mqtts://`` is TLS, verified."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
import uvloop

from headwater.bridges import mqtt
from headwater.bridges.mqtt_connection import open_connection
from headwater.bridges.mqtt_packets import Publish
from headwater.commands.embedded import free_port
from headwater.commands.init import InitResult
from headwater.settings import Settings
from tests.support.bridges import (
    connected,
    mqtt_bridge,
    publish_bridge,
    publish_mqtt,
    running_bridges,
)
from tests.support.channels import ChannelUnavailable, MqttServer, start_mosquitto, stop_group
from tests.support.polling import eventually
from tests.support.tls import self_signed

pytestmark = pytest.mark.integration


# Debian's Mosquitto checks its acl_file on delivery only (every SUBSCRIBE is granted);
# its dynamic-security plugin checks subscriptions: here it lets nobody subscribe
DYNSEC = Path("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so")  # package mosquitto
REFUSING = (
    f"plugin {DYNSEC}\n"
    "plugin_opt_config_file {state}/dynsec.json\n"
    "user root\n"  # as root it would read as user mosquitto: no entry to the test's folder
)
NO_SUBSCRIPTIONS = {
    "defaultACLAccess": {
        "publishClientSend": True,
        "publishClientReceive": True,
        "subscribe": False,
        "unsubscribe": True,
    },
    "clients": [],
    "groups": [],
    "roles": [],
}


@contextmanager
def _mosquitto(state: Path, extra: str = "") -> Iterator[tuple[MqttServer, int]]:
    """A Mosquitto of the test: (server, pid of its process group)."""
    try:
        server, popen = start_mosquitto(state, extra)
    except ChannelUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield server, popen.pid
    finally:
        os.killpg(popen.pid, signal.SIGCONT)
        stop_group(popen.pid)
        popen.wait(10)


@pytest.fixture
def refusing(tmp_path: Path) -> Iterator[MqttServer]:
    """A Mosquitto that refuses every subscription."""
    if not DYNSEC.exists():
        pytest.skip(f"no {DYNSEC}")
    state = tmp_path / "mosquitto"
    state.mkdir()
    (state / "dynsec.json").write_bytes(orjson.dumps(NO_SUBSCRIPTIONS))
    with _mosquitto(state, REFUSING.format(state=state)) as (server, _):
        yield server


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[tuple[MqttServer, int]]:
    with _mosquitto(tmp_path / "mosquitto") as broker:
        yield broker


async def test_a_refused_subscription_is_reported_with_the_brokers_reason(
    shared_settings: Settings, initialized: InitResult, refusing: MqttServer
) -> None:
    bridge_id = str(uuid.uuid4())
    config = mqtt_bridge(refusing, ["denied/#"], event_type="topic")
    await publish_bridge(shared_settings, bridge_id, config)
    async with running_bridges(shared_settings, "mqtt") as process:

        async def refused() -> str | None:
            stats = process.stats.get(bridge_id)
            return stats.error if stats is not None and stats.error else None

        error = await eventually(refused, timeout=20)
        assert "refused the subscription to denied/# (0x87 Not authorized)" in error
        assert process.stats[bridge_id].state == "reconnecting"


async def test_a_silent_broker_is_left_after_the_keepalive_and_reconnected_to(
    shared_settings: Settings,
    initialized: InitResult,
    plain: tuple[MqttServer, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mqtt, "KEEPALIVE", 1)
    monkeypatch.setattr(mqtt, "TIMEOUT", 2.0)
    server, pid = plain
    bridge_id, topic = str(uuid.uuid4()), f"t/{uuid.uuid4().hex}"
    config = mqtt_bridge(server, [topic], event_type="value:reading", event_id=["json:id"])
    await publish_bridge(shared_settings, bridge_id, config)
    async with running_bridges(shared_settings, "mqtt") as process:
        await connected(process, bridge_id)
        os.killpg(pid, signal.SIGSTOP)

        async def left() -> bool:
            stats = process.stats[bridge_id]
            return stats.state == "reconnecting" and "no answer from the broker" in (
                stats.error or ""
            )

        await eventually(left, timeout=10)
        os.killpg(pid, signal.SIGCONT)

        async def back() -> bool:
            stats = process.stats[bridge_id]
            return stats.connects >= 2 and stats.state == "connected"

        await eventually(back, timeout=20)
        await publish_mqtt(server, [(topic, orjson.dumps({"id": f"s{n}"})) for n in range(5)])

        async def delivered() -> bool:
            return process.stats[bridge_id].delivered >= 5

        await eventually(delivered, timeout=15)


BIG = bytes(range(256)) * 8192


def test_the_subscriber_runs_on_uvloop_as_in_the_bridge_process(
    plain: tuple[MqttServer, int],
) -> None:
    """``headwater bridge`` runs under uvicorn, on uvloop, whose transports are not
    ``asyncio.Transport``s (the tests' other bridges run on asyncio's loop). A message of
    2 MiB comes in many reads, joined once whole."""
    server, _ = plain

    async def exchange() -> list[tuple[str, bytes, int]]:
        client = await open_connection(
            server.host,
            server.port,
            tls=None,
            client_id=f"t-{uuid.uuid4().hex[:8]}",
            username=None,
            password=None,
            keepalive=30,
            props={"receive_maximum": 10},
            timeout=5,
        )
        try:
            assert await client.subscribe(["u/#"], 1, 5) == [1]
            await publish_mqtt(server, [("u/a", b"1"), ("u/b", b"2"), ("u/c", BIG)])
            got: list[Publish] = []
            while len(got) < 3:
                got += await asyncio.wait_for(client.received(), 5)
            client.acknowledge([m.packet_id for m in got])
            return [(m.topic, m.payload, m.qos) for m in got]
        finally:
            client.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(exchange()) == [("u/a", b"1", 1), ("u/b", b"2", 1), ("u/c", BIG, 1)]


@pytest.mark.xfail(
    reason="hung once in CI (2026-12-07: the 300 s timeout, the loop idle, under the suite's "
    "load; 5 of 5 runs alone or after test_bridges.py passed in seconds); cause not found. "
    "Quarantined as non-strict while it is looked into; bounded to 120 s",
    strict=False,
    raises=TimeoutError,
)
async def test_an_mqtts_bridge_connects_over_tls_and_verifies_the_brokers_name(
    shared_settings: Settings,
    initialized: InitResult,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with asyncio.timeout(120):  # a hang is reported as one, not as the suite's timeout
        await _mqtts_bridge_verifies_the_brokers_name(shared_settings, tmp_path, monkeypatch)


async def _mqtts_bridge_verifies_the_brokers_name(
    shared_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed(tmp_path, "localhost")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate only
    plain_port = free_port()  # the test publishes there; the bridge reads over TLS
    tls = f"certfile {cert}\nkeyfile {key}\nuser root\nlistener {plain_port} 127.0.0.1\n"
    bridge_id, topic = str(uuid.uuid4()), f"t/{uuid.uuid4().hex}"
    with _mosquitto(tmp_path / "mosquitto", tls) as (server, _):
        config = mqtt_bridge(server, [topic], event_type="value:reading", event_id=["json:id"])
        config["connection"]["url"] = f"mqtts://localhost:{server.port}"
        await publish_bridge(shared_settings, bridge_id, config)
        by_address = {"url": f"mqtts://127.0.0.1:{server.port}"}  # not the certificate's name
        address_id = str(uuid.uuid4())
        await publish_bridge(shared_settings, address_id, {**config, "connection": by_address})
        async with running_bridges(shared_settings, "mqtt") as process:
            await connected(process, bridge_id)

            async def refused() -> str | None:
                stats = process.stats.get(address_id)
                return stats.error if stats is not None and stats.error else None

            assert "CERTIFICATE_VERIFY_FAILED" in await eventually(refused, timeout=15)
            plain = MqttServer("127.0.0.1", plain_port)
            await publish_mqtt(plain, [(topic, orjson.dumps({"id": f"t{n}"})) for n in range(3)])

            async def delivered() -> bool:
                return process.stats[bridge_id].delivered >= 3

            await eventually(delivered, timeout=15)
