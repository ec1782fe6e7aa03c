"""Bridge throughput: MQTT and AMQP messages per second from publish to acknowledged intake.

    python -m bench.bridges [--messages 20000] [--engines standins|apache] [--channels mqtt,amqp]

Starts what it needs on free ports (the engines as in bench/collector.py; Mosquitto and
RabbitMQ from Debian's packages, RabbitMQ from HEADWATER_TEST_AMQP when set), configures
one MQTT and one AMQP bridge and runs one ``headwater bridge KIND`` process per channel.
For each channel it measures, in the same run:

- the channel server's own publish rate: the publisher alone, to a topic or queue no
  bridge reads (MQTT QoS 1 with PUBACKs, AMQP with publisher confirms), 200 in flight;
- live: the same publisher to the bridge's topic or queue, from the first publish until
  the bridge reports (``/health``, ``delivered``) that Kafka acknowledged the last
  intake record, i.e. messages/s from publish to acknowledged intake. The publishers
  (bench/_mqtt_publish.py, bench/_amqp_publish.py: packets made before the clock, a few
  microseconds of CPU per message) share the machine's cores with the broker, Kafka and
  the bridge, so this figure is at most the publisher's own rate;
- backlog: the bridge disabled (its MQTT session kept by the broker, its AMQP queue
  durable), the same messages published and waiting, then the bridge enabled again: the
  messages/s at which it drains them into Kafka, from its connection to the last
  acknowledgement. That is the bridge's own rate, with no publisher running.

Each line also gives the bridge process's CPU per message (from ``/proc``), which other
load on the machine hardly moves. Each message is a ~300-byte JSON reading of one of 100
devices (its profile), mapped with a payload id, a profile id, two properties and an
event time. The collector's events/s for the same reading, one per ``/collect`` request
(wrk, 32 connections, 10 s), is measured at the end of the same run, and every bridge
figure is printed again as a ratio of it. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench._amqp_publish import AmqpPublisher
from bench._harness import (
    Services,
    add_engines_option,
    print_json,
    require_wrk,
    run_with_services,
    run_wrk,
)
from bench._measure import tree_cpu_seconds
from bench._mqtt_publish import MqttPublisher
from headwater.commands.embedded import free_port, start_process, wait_http
from headwater.core.bridge_config import BRIDGE_KIND
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer

IN_FLIGHT = 200  # publishes awaiting their PUBACK / confirm
STALL = 30.0  # seconds without progress before the bench gives up
POLL = 0.05  # seconds between looks at a bridge's /health (each costs the bridge CPU)


def reading(n: int) -> bytes:
    return orjson.dumps(
        {
            "id": f"r-{n}",
            "device": f"dev-{n % 100}",
            "owner": f"owner-{n % 100}",
            "celsius": 20 + (n % 50) / 10,
            "humidity": 40 + n % 30,
            "at": "2026-12-01T10:00:00.000Z",
            "firmware": "4.2.1",
            "site": {"building": "B2", "floor": 3, "room": f"R{n % 40:03d}"},
            "flags": ["ok", "calibrated"],
            "note": "x" * 60,
        }
    )


MAPPING = {
    "event_type": "value:reading",
    "event_id": ["json:id"],
    "profile_id": "json:owner",
    "properties": {"celsius": "json:celsius", "room": "json:site.room"},
    "event_time": "json:at",
}


@contextmanager
def channel_servers(logs: Path, channels: list[str]) -> Iterator[tuple[Any, Any]]:
    """For the channels measured: a Mosquitto of its own (its queue for an absent or
    slower client must not be capped at the default 1000 messages, or the backlog would
    be dropped) and RabbitMQ (from HEADWATER_TEST_AMQP, else started here)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.support.channels import amqp_server, start_mosquitto, stop_group

    with ExitStack() as stack:
        mqtt = amqp = None
        if "mqtt" in channels:
            mqtt, popen = start_mosquitto(logs / "mosquitto", "max_queued_messages 0\n")
            stack.callback(popen.wait, 10)
            stack.callback(stop_group, popen.pid)
        if "amqp" in channels:
            amqp = stack.enter_context(amqp_server(logs / "rabbitmq"))
        yield mqtt, amqp


async def publish_mqtt(host: str, port: int, topic: str, count: int) -> float:
    """Seconds to publish ``count`` readings at QoS 1, each acknowledged by the broker,
    ``IN_FLIGHT`` unacknowledged at most (the packets made before the clock starts)."""
    async with MqttPublisher(host, port) as publisher:
        packets = publisher.marshal(topic, map(reading, range(count)))
        started = time.perf_counter()
        await publisher.publish(packets, IN_FLIGHT)
        return time.perf_counter() - started


async def publish_amqp(url: str, routing_key: str, count: int) -> float:
    """Seconds to publish ``count`` readings to amq.topic, each confirmed, ``IN_FLIGHT``
    unconfirmed at most (the frames made before the clock starts)."""
    async with AmqpPublisher(url) as publisher:
        messages = publisher.marshal("amq.topic", routing_key, map(reading, range(count)))
        started = time.perf_counter()
        await publisher.publish(messages, IN_FLIGHT)
        return time.perf_counter() - started


@dataclass
class Bridge:
    """One bridge process and the one bridge it runs."""

    kind: str
    bridge_id: str
    data: dict[str, Any]
    health: str
    pid: int
    version: int = 1

    async def stats(self) -> dict[str, Any] | None:
        async with httpx.AsyncClient(timeout=5) as http:
            found = (await http.get(f"{self.health}/health")).json()["bridges"]
        stats: dict[str, Any] | None = found.get(self.bridge_id)
        return stats

    async def delivered(self) -> int:
        stats = await self.stats()
        return int(stats["delivered"]) if stats and stats["state"] == "connected" else -1

    async def until_delivered(self, count: int, stall: float = STALL) -> tuple[float, int, float]:
        """Wait until the bridge delivered ``count``: returns when it was first seen
        connected, what it had delivered then, and when it had delivered them all. Exits
        when it makes no progress for ``stall`` seconds."""
        last, moved = -2, time.monotonic()
        seen: tuple[float, int] | None = None
        while (got := await self.delivered()) < count:
            if got >= 0 and seen is None:
                seen = (time.perf_counter(), got)
            if got != last:
                last, moved = got, time.monotonic()
            elif time.monotonic() - moved > stall:
                raise SystemExit(f"bench: {self.kind} bridge stuck at {got} of {count}")
            await asyncio.sleep(POLL)
        now = time.perf_counter()
        return (*(seen or (now, got)), now)

    async def until_gone(self) -> None:
        deadline = time.monotonic() + STALL
        while await self.stats() is not None:
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: {self.kind} bridge still running after disabling")
            await asyncio.sleep(0.05)

    def cpu(self) -> float:
        return tree_cpu_seconds(self.pid)


def start_bridge(stack: ExitStack, services: Services, kind: str) -> tuple[str, int]:
    port = free_port()
    process = start_process(
        f"{kind}-bridge",
        [sys.executable, "-m", "headwater", "bridge", kind, "--port", str(port)],
        log_path=services.logs / f"{kind}-bridge.log",
        env=services.env(),
    )
    stack.callback(process.stop)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health/ready", 60, process)
    return url, process.popen.pid


async def configure(services: Services, bridges: list[Bridge], enabled: bool = True) -> None:
    """Publish each bridge's configuration as its next version."""
    producer = AckedProducer(services.settings)
    await producer.start(wait=10)
    publisher = ConfigPublisher(services.settings, AvroCodec.default(), producer)
    try:
        for bridge in bridges:
            bridge.version += 1
            await publisher.publish(
                kind=BRIDGE_KIND,
                tenant=services.settings.default_tenant,
                env=services.settings.env,
                entity_id=bridge.bridge_id,
                data={**bridge.data, "enabled": enabled},
                version=bridge.version,
                updated_by="bench",
            )
    finally:
        await producer.stop()


@dataclass
class Figure:
    name: str
    count: int
    seconds: float
    cpu_seconds: float | None = None  # the bridge process's

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def cpu_us(self) -> float | None:
        return None if self.cpu_seconds is None else self.cpu_seconds / self.count * 1e6

    def line(self, label: str) -> str:
        cpu = "" if self.cpu_us is None else f"  cpu {self.cpu_us:4.0f} us/msg"
        return (
            f"{self.name:<34} {self.rate:>7.0f} messages/s ({self.count} in "
            f"{self.seconds:.2f}s){cpu}  [{label}]"
        )

    def figures(self) -> dict[str, Any]:
        cpu = self.cpu_us
        return {
            "per_s": round(self.rate, 1),
            "messages": self.count,
            "seconds": round(self.seconds, 3),
            "cpu_us_per_message": None if cpu is None else round(cpu, 1),
        }


Publish = Callable[[str, int], Awaitable[float]]  # (topic or routing key, count) -> seconds


async def live(bridge: Bridge, publish: Publish, topic: str, count: int) -> dict[str, Figure]:
    """The publisher and the bridge at once: publish -> acknowledged intake."""
    cpu, started = bridge.cpu(), time.perf_counter()
    publishing = asyncio.create_task(publish(topic, count))
    _, _, done = await bridge.until_delivered(count)
    published = await publishing
    used = bridge.cpu() - cpu
    kind = bridge.kind
    return {
        f"{kind}_live": Figure(f"{kind} bridge live, publish->ack", count, done - started, used),
        f"{kind}_live_publisher": Figure("  its publisher meanwhile", count, published),
    }


async def backlog(
    services: Services, bridge: Bridge, publish: Publish, topic: str, count: int
) -> dict[str, Figure]:
    """The bridge away while ``count`` messages are published, then draining them (its
    delivered counter starts again at 0 when it is enabled again)."""
    await configure(services, [bridge], enabled=False)
    await bridge.until_gone()
    published = await publish(topic, count)
    cpu = bridge.cpu()
    await configure(services, [bridge], enabled=True)
    seen, before, done = await bridge.until_delivered(count)
    used = bridge.cpu() - cpu
    kind = bridge.kind
    return {
        f"{kind}_backlog_publish": Figure("  publish into its waiting backlog", count, published),
        f"{kind}_backlog": Figure(
            f"{kind} bridge backlog drain", count - before, done - seen, used
        ),
    }


def bridge_settings(prefix: str, mqtt: Any, amqp: Any) -> dict[str, dict[str, Any]]:
    """The bridge of each channel server given (None: that channel is not measured)."""
    settings: dict[str, dict[str, Any]] = {}
    if mqtt:
        settings["mqtt"] = {
            "channel": "mqtt",
            "connection": {"url": f"mqtt://{mqtt.host}:{mqtt.port}"},
            "subscription": {"topics": [f"{prefix}/readings/#"]},
            "mapping": MAPPING,
        }
    if amqp:
        settings["amqp"] = {
            "channel": "amqp",
            "connection": {"url": f"amqp://{amqp.host}:{amqp.port}/"},
            "subscription": {
                "queue": f"{prefix}-readings",
                "declare": True,
                "bindings": [f"amq.topic:{prefix}.readings.#"],
            },
            "mapping": MAPPING,
        }
    return settings


async def run(stack: ExitStack, services: Services, count: int, channels: list[str]) -> None:
    label = services.label
    print(services.describe(), flush=True)
    mqtt, amqp = stack.enter_context(channel_servers(services.logs, channels))
    prefix = services.settings.topic_prefix
    bridges = {
        kind: Bridge(kind, str(uuid.uuid4()), data, "", 0, version=0)
        for kind, data in bridge_settings(prefix, mqtt, amqp).items()
        if kind in channels
    }
    await configure(services, list(bridges.values()))
    for bridge in bridges.values():
        bridge.health, bridge.pid = start_bridge(stack, services, bridge.kind)
        await bridge.until_delivered(0, 60)
    print(f"{count} readings of {len(reading(0))} B per channel, {IN_FLIGHT} in flight")

    async def to_mqtt(topic: str, n: int) -> float:
        return await publish_mqtt(mqtt.host, mqtt.port, topic, n)

    async def to_amqp(routing_key: str, n: int) -> float:
        return await publish_amqp(amqp.url, routing_key, n)

    figures: dict[str, Figure] = {}

    def show(found: dict[str, Figure]) -> None:
        figures.update(found)
        for figure in found.values():
            print(figure.line(label), flush=True)

    # the channel servers alone: a topic and a routing key no bridge reads
    if mqtt:
        alone = await to_mqtt(f"{prefix}/nobody", count)
        show({"mosquitto_publish": Figure("mosquitto publish (QoS 1)", count, alone)})
    if amqp:
        alone = await to_amqp(f"{prefix}.nobody", count)
        show({"rabbitmq_publish": Figure("rabbitmq publish (confirms)", count, alone)})
    if mqtt:
        show(await live(bridges["mqtt"], to_mqtt, f"{prefix}/readings/a", count))
    if amqp:
        show(await live(bridges["amqp"], to_amqp, f"{prefix}.readings.a", count))
    if mqtt:
        show(await backlog(services, bridges["mqtt"], to_mqtt, f"{prefix}/readings/b", count))
    if amqp:
        show(await backlog(services, bridges["amqp"], to_amqp, f"{prefix}.readings.b", count))

    # the collector with the same event: one reading per /collect request (wrk)
    collector = services.start_collector()
    source_id = services.init.sources[services.settings.env]
    url = f"{collector.url}/collect/reading/{source_id}"
    run_wrk("warm-up", url, reading(0), 1, duration=2, connections=32)
    collect = run_wrk(
        "collect 1 reading", url, reading(0), 1, duration=10, connections=32, cpu_of=collector.pid
    )
    print(collect.line(label), flush=True)
    print(f"against the collector's {collect.eps:.0f} events/s (target: a bridge >= 1.00x):")
    for kind in channels:
        for key in (f"{kind}_live", f"{kind}_backlog"):
            print(f"  {key:<14} {figures[key].rate / collect.eps:5.2f}x", flush=True)

    print_json(
        {
            "benchmark": "bridges",
            "engines": services.figures(),
            "messages": count,
            "message_bytes": len(reading(0)),
            **{key: figure.figures() for key, figure in figures.items()},
            "collector_collect_1": collect.figures(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000, help="per channel")
    parser.add_argument(
        "--channels",
        default="mqtt,amqp",
        help="which bridges to measure, comma-separated (default: mqtt,amqp)",
    )
    add_engines_option(parser)
    args = parser.parse_args()
    channels = [kind for kind in ("mqtt", "amqp") if kind in args.channels.split(",")]
    if not channels:
        parser.error("--channels: mqtt, amqp or both")
    require_wrk()
    run_with_services(
        args.engines, lambda stack, services: run(stack, services, args.messages, channels)
    )


if __name__ == "__main__":
    main()
