"""Bridge throughput: MQTT and AMQP messages per second from publish to acknowledged intake.

    python -m bench.bridges [--messages 20000] [--engines standins|apache]

Starts what it needs on free ports (the engines as in bench/collector.py; Mosquitto and
RabbitMQ from Debian's packages, RabbitMQ from HEADWATER_TEST_AMQP when set), configures
one MQTT and one AMQP bridge and runs one ``headwater bridge KIND`` process per channel.
For each channel it measures, in the same run:

- the channel server's own publish rate: the publisher alone, to a topic or queue no
  bridge reads (MQTT QoS 1 with PUBACKs, AMQP with publisher confirms), 200 in flight;
- the bridge: the same publisher to the bridge's topic or queue, from the first publish
  until the bridge reports (``/health``, ``delivered``) that Kafka acknowledged the last
  intake record, i.e. messages/s from publish to acknowledged intake.

Each message is a ~300-byte JSON reading of one of 100 devices (its profile), mapped
with a payload id, a profile id, two properties and an event time. Compare with the
collector's events/s for the same reading, one per ``/collect`` request (wrk, 32
connections, 10 s), measured at the end of the same run. Prints one line per figure and
ends with one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import aio_pika
import aiomqtt
import httpx
import orjson

from bench._harness import (
    Services,
    add_engines_option,
    print_json,
    require_wrk,
    run_with_services,
    run_wrk,
)
from bench._workload import publish_config
from headwater.commands.embedded import free_port, start_process, wait_http
from headwater.core.bridge_config import BRIDGE_KIND

IN_FLIGHT = 200  # publishes awaiting their PUBACK / confirm


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
def channel_servers(logs: Path) -> Iterator[tuple[Any, Any]]:
    """A Mosquitto of its own (the bench publishes faster than a bridge takes: its
    session queue must not be capped at Mosquitto's default 1000, or messages are
    dropped) and RabbitMQ (from HEADWATER_TEST_AMQP, else started here)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.support.channels import amqp_server, start_mosquitto, stop_group

    mqtt, popen = start_mosquitto(logs / "mosquitto", "max_queued_messages 0\n")
    try:
        with amqp_server(logs / "rabbitmq") as amqp:
            yield mqtt, amqp
    finally:
        stop_group(popen.pid)
        popen.wait(10)


async def publish_mqtt(host: str, port: int, topic: str, count: int) -> float:
    """Seconds to publish ``count`` readings at QoS 1 (each acknowledged by the broker)."""
    async with aiomqtt.Client(host, port, max_inflight_messages=IN_FLIGHT) as client:
        client.pending_calls_threshold = IN_FLIGHT + 1  # no warning for what we mean
        started = time.perf_counter()
        await _in_flight(count, lambda n: client.publish(topic, reading(n), qos=1))
        return time.perf_counter() - started


async def publish_amqp(url: str, routing_key: str, count: int) -> float:
    """Seconds to publish ``count`` readings to amq.topic, each confirmed."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("amq.topic")
        started = time.perf_counter()

        async def one(n: int) -> Any:
            return await exchange.publish(aio_pika.Message(reading(n)), routing_key=routing_key)

        await _in_flight(count, one)
        return time.perf_counter() - started


async def _in_flight(count: int, send: Callable[[int], Awaitable[Any]]) -> None:
    for start in range(0, count, IN_FLIGHT):
        await asyncio.gather(*(send(n) for n in range(start, min(start + IN_FLIGHT, count))))


async def delivered(health: str, bridge_id: str) -> int:
    async with httpx.AsyncClient(timeout=5) as http:
        stats = (await http.get(f"{health}/health")).json()["bridges"].get(bridge_id)
    return int(stats["delivered"]) if stats and stats["state"] == "connected" else -1


async def until_delivered(health: str, bridge_id: str, count: int, stall: float = 30) -> float:
    """When the bridge has delivered ``count``; exits when it makes no progress for
    ``stall`` seconds."""
    last, moved = -2, time.monotonic()
    while (got := await delivered(health, bridge_id)) < count:
        if got != last:
            last, moved = got, time.monotonic()
        elif time.monotonic() - moved > stall:
            raise SystemExit(f"bench: bridge stuck at {got} of {count} for {stall}s")
        await asyncio.sleep(0.02)
    return time.perf_counter()


def start_bridge(stack: ExitStack, services: Services, kind: str) -> str:
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
    return url


async def configure(services: Services, bridges: dict[str, dict[str, Any]]) -> None:
    entries = [(BRIDGE_KIND, bridge_id, data) for bridge_id, data in bridges.items()]
    await publish_config(services.settings, entries)


def line(name: str, count: int, seconds: float, label: str) -> str:
    return f"{name:<32} {count / seconds:>9.0f} messages/s ({count} in {seconds:.2f}s)  [{label}]"


async def run(stack: ExitStack, services: Services, count: int) -> None:
    label = services.label
    print(services.describe(), flush=True)
    mqtt, amqp = stack.enter_context(channel_servers(services.logs))
    prefix = services.settings.topic_prefix
    ids = {"mqtt": str(uuid.uuid4()), "amqp": str(uuid.uuid4())}
    await configure(
        services,
        {
            ids["mqtt"]: {
                "channel": "mqtt",
                "connection": {"url": f"mqtt://{mqtt.host}:{mqtt.port}"},
                "subscription": {"topics": [f"{prefix}/readings/#"]},
                "mapping": MAPPING,
            },
            ids["amqp"]: {
                "channel": "amqp",
                "connection": {"url": f"amqp://{amqp.host}:{amqp.port}/"},
                "subscription": {
                    "queue": f"{prefix}-readings",
                    "declare": True,
                    "bindings": [f"amq.topic:{prefix}.readings.#"],
                },
                "mapping": MAPPING,
            },
        },
    )
    health = {kind: start_bridge(stack, services, kind) for kind in ids}
    for kind, bridge_id in ids.items():
        await until_delivered(health[kind], bridge_id, 0, 60)
    print(f"{count} readings of {len(reading(0))} B per channel, {IN_FLIGHT} in flight")

    # the channel servers alone: a topic and a routing key no bridge reads
    mqtt_alone = await publish_mqtt(mqtt.host, mqtt.port, f"{prefix}/nobody", count)
    print(line("mosquitto publish (QoS 1)", count, mqtt_alone, label), flush=True)
    amqp_alone = await publish_amqp(amqp.url, f"{prefix}.nobody", count)
    print(line("rabbitmq publish (confirms)", count, amqp_alone, label), flush=True)

    started = time.perf_counter()
    publishing = asyncio.create_task(
        publish_mqtt(mqtt.host, mqtt.port, f"{prefix}/readings/a", count)
    )
    done = await until_delivered(health["mqtt"], ids["mqtt"], count)
    mqtt_published = await publishing
    mqtt_bridge = done - started
    print(line("mqtt bridge, publish->intake ack", count, mqtt_bridge, label), flush=True)

    started = time.perf_counter()
    publishing = asyncio.create_task(publish_amqp(amqp.url, f"{prefix}.readings.a", count))
    done = await until_delivered(health["amqp"], ids["amqp"], count)
    amqp_published = await publishing
    amqp_bridge = done - started
    print(line("amqp bridge, publish->intake ack", count, amqp_bridge, label), flush=True)

    # the collector with the same event: one reading per /collect request (wrk)
    collector = services.start_collector()
    source_id = services.init.sources[services.settings.env]
    url = f"{collector.url}/collect/reading/{source_id}"
    run_wrk("warm-up", url, reading(0), 1, duration=2, connections=32)
    collect = run_wrk(
        "collect 1 reading", url, reading(0), 1, duration=10, connections=32, cpu_of=collector.pid
    )
    print(collect.line(label), flush=True)

    def rate(seconds: float) -> float:
        return round(count / seconds, 1)

    print_json(
        {
            "benchmark": "bridges",
            "engines": services.figures(),
            "messages": count,
            "message_bytes": len(reading(0)),
            "mosquitto_publish_per_s": rate(mqtt_alone),
            "rabbitmq_publish_per_s": rate(amqp_alone),
            "mqtt_bridge_per_s": rate(mqtt_bridge),
            "mqtt_publish_during_bridge_per_s": rate(mqtt_published),
            "amqp_bridge_per_s": rate(amqp_bridge),
            "amqp_publish_during_bridge_per_s": rate(amqp_published),
            "collector_collect_1": collect.figures(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000, help="per channel")
    add_engines_option(parser)
    args = parser.parse_args()
    require_wrk()
    run_with_services(args.engines, lambda stack, services: run(stack, services, args.messages))


if __name__ == "__main__":
    main()
