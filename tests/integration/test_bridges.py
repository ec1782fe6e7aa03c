"""Bridges on the real servers: messages published to Mosquitto and RabbitMQ become
searchable events on their profile, with the mapping applied; a message that cannot
become an event goes to the dead-letter topic with its reason and the bridge goes on;
configuration changes apply without a restart; a Kafka-topic bridge commits only what
intake has; the MQTT broker or RabbitMQ restarted mid-stream loses nothing. (One module: the tests
share one init and worker.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aio_pika
import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from headwater.commands.embedded import ManagedProcess
from headwater.commands.init import InitResult
from headwater.core.ports.search import SearchStore
from headwater.schemas import DEAD_LETTER, INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.kafka import AckedProducer, ensure_topics
from headwater.streams.topics import Topics, TopicSpec
from tests.support.bridges import (
    amqp_bridge,
    connected,
    dead_letters,
    mqtt_bridge,
    publish_amqp,
    publish_bridge,
    publish_mqtt,
    running_bridges,
    stored_events,
)
from tests.support.channels import (
    AmqpServer,
    ChannelUnavailable,
    MqttServer,
    start_mosquitto,
    start_rabbitmq,
    stop_group,
    stop_rabbitmq,
)
from tests.support.kafka import read_topic
from tests.support.polling import eventually

pytestmark = pytest.mark.integration


async def test_mqtt_messages_become_events_of_their_profile_and_bad_ones_dead_letters(
    shared_settings: Settings,
    bridge_worker: ManagedProcess,
    shared_store: SearchStore,
    mqtt: MqttServer,
    tmp_path: Path,
) -> None:
    settings = shared_settings
    bridge_id, base = str(uuid.uuid4()), f"{settings.topic_prefix}/sensors"
    config = mqtt_bridge(
        mqtt,
        [f"{base}/+/reading"],
        event_type="topic:-1",
        event_id=["json:id"],
        profile_id="json:owner",
        properties={"celsius": "json:t", "room": "topic:-2"},
        event_time="json:at",
    )
    await publish_bridge(settings, bridge_id, config)
    async with running_bridges(settings, "mqtt") as process:
        await connected(process, bridge_id)
        reading = {"owner": "ann", "t": 21.5, "at": "2026-11-30T08:00:00Z"}
        await publish_mqtt(
            mqtt,
            [
                (f"{base}/kitchen/reading", orjson.dumps({**reading, "id": "r1"})),
                (f"{base}/hall/reading", b"{not json"),  # dead-lettered; the bridge goes on
                (f"{base}/hall/reading", orjson.dumps({**reading, "id": "r2", "owner": "bob"})),
                (f"{base}/kitchen/reading", orjson.dumps({**reading, "id": "r1"})),  # again
            ],
        )
        events = await stored_events(shared_store, settings, bridge_id, 2)
        assert process.stats[bridge_id].dead_lettered == 1

        # a new version of the bridge applies without a restart
        changed = {**config["mapping"], "event_type": "value:temperature"}
        first_run = process.stats[bridge_id]  # before the change: it may apply at once
        await publish_bridge(settings, bridge_id, {**config, "mapping": changed}, version=2)
        await connected(process, bridge_id, replacing=first_run)
        await publish_mqtt(mqtt, [(f"{base}/attic/reading", orjson.dumps({**reading, "id": "r3"}))])
        events = await stored_events(shared_store, settings, bridge_id, 3)

    by_profile = {e["profile"]["id"]: e for e in events if e["type"] == "reading"}
    assert sorted(by_profile) == ["ann", "bob"] and len(events) == 3  # r1 stored once
    ann = by_profile["ann"]
    assert ann["properties"] == {"celsius": 21.5, "room": "kitchen"}
    assert (ann["channel"], ann["time"]["create"]) == ("mqtt", "2026-11-30T08:00:00.000Z")
    assert [e["type"] for e in events if e["properties"]["room"] == "attic"] == ["temperature"]

    [letter] = await dead_letters(settings, bridge_id, 1)
    assert letter["stage"] == "bridge-mqtt"
    assert letter["topic"] == f"mqtt:{base}/hall/reading"
    assert letter["payload"] == b"{not json"
    assert "expected a JSON payload" in letter["reason"] and bridge_id in letter["reason"]


async def test_amqp_deliveries_become_events_and_bad_ones_dead_letters(
    shared_settings: Settings,
    bridge_worker: ManagedProcess,
    shared_store: SearchStore,
    amqp: AmqpServer,
) -> None:
    settings = shared_settings
    bridge_id, prefix = str(uuid.uuid4()), settings.topic_prefix
    config = amqp_bridge(
        amqp,
        f"{prefix}-orders",
        [f"amq.topic:{prefix}.orders.#"],
        event_type="topic:-1",
        event_id=["message_id"],
        profile_id="header:x-customer",
        profile_required=True,
    )
    await publish_bridge(settings, bridge_id, config)
    async with running_bridges(settings, "amqp") as process:
        await connected(process, bridge_id)
        order = orjson.dumps({"total": 42, "items": ["a", "b"]})
        c1 = {"x-customer": "c1"}
        created, paid = f"{prefix}.orders.created", f"{prefix}.orders.paid"
        await publish_amqp(
            amqp,
            "amq.topic",
            [
                (created, order, {"message_id": "o1", "headers": c1}),
                (created, order, {"message_id": "o2"}),  # no customer: dead-lettered
                (paid, order, {"message_id": "o3", "headers": c1}),
                (created, order, {"message_id": "o1", "headers": c1}),  # again: one event
            ],
        )
        events = await stored_events(shared_store, settings, bridge_id, 2)
        await dead_letters(settings, bridge_id, 1)
        stats = process.stats[bridge_id]
        assert (stats.delivered, stats.dead_lettered) == (3, 1)  # o1 sent twice

    assert sorted(e["type"] for e in events) == ["created", "paid"]
    assert {e["profile"]["id"] for e in events} == {"c1"}
    assert events[0]["properties"] == {"total": 42, "items": ["a", "b"]}
    assert {e["channel"] for e in events} == {"amqp"}
    [letter] = await dead_letters(settings, bridge_id, 1)
    assert letter["stage"] == "bridge-amqp"
    assert "profile_id: header:x-customer is missing" in letter["reason"]


async def test_the_amqp_bridge_reconnects_when_its_queue_is_deleted_and_declares_it_again(
    shared_settings: Settings,
    initialized: InitResult,
    amqp: AmqpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """RabbitMQ cancels the consumer of a deleted queue and keeps the channel open: the
    bridge must not sit connected and idle, but reconnect and declare it again."""
    settings = shared_settings
    bridge_id, key = str(uuid.uuid4()), f"{settings.topic_prefix}.gone"
    queue = f"{settings.topic_prefix}-gone"
    config = amqp_bridge(amqp, queue, [f"amq.topic:{key}"], event_type="value:gone")
    await publish_bridge(settings, bridge_id, config)
    async with running_bridges(settings, "amqp") as process:
        await connected(process, bridge_id)
        await publish_amqp(amqp, "amq.topic", [(key, b'{"n": 1}', {})])
        stats = process.stats[bridge_id]
        await eventually(lambda: _true(stats.delivered == 1), timeout=30)

        connection = await aio_pika.connect(amqp.url)
        async with connection:
            await (await connection.channel()).queue_delete(queue)

        await eventually(lambda: _true(stats.connects == 2 and stats.state == "connected"))
        assert "the broker cancelled the consumer (queue deleted?)" in caplog.text
        await publish_amqp(amqp, "amq.topic", [(key, b'{"n": 2}', {})])  # bound again
        await eventually(lambda: _true(stats.delivered == 2), timeout=30)


async def _true(value: bool) -> bool:
    return value


# --- Kafka-topic bridge ---


async def test_kafka_records_become_events_and_offsets_are_committed_after_intake(
    shared_settings: Settings, initialized: InitResult
) -> None:
    settings = shared_settings
    bridge_id, source = str(uuid.uuid4()), f"{settings.topic_prefix}.orders-cdc"
    await ensure_topics(settings, [TopicSpec(source, 2)])
    config = {
        "channel": "kafka",
        "connection": {"url": f"kafka://{settings.kafka_servers}"},
        "subscription": {"topics": [source]},
        "mapping": {
            "event_type": "json:op",
            "event_id": ["message_id", "json:seq"],
            "profile_id": "json:customer",
            "properties": {"total": "json:after.total", "table": "header:table"},
        },
    }
    await publish_bridge(settings, bridge_id, config)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    try:
        for n in range(20):
            body = {"op": "order-updated", "seq": n, "customer": f"c{n % 4}", "after": {"total": n}}
            await producer.send(source, orjson.dumps(body), f"order-{n % 5}".encode())
        await producer.send(source, b"not json", b"order-x")
    finally:
        await producer.stop()

    async with running_bridges(settings, "kafka") as process:
        await connected(process, bridge_id)

        async def settled() -> bool:
            stats = process.stats[bridge_id]
            return stats.delivered == 20 and stats.dead_lettered == 1 and stats.in_flight == 0

        await eventually(settled, timeout=30)

    records = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).intake,
        INTAKE_BATCH,
        until=lambda rs: sum(r["source_id"] == bridge_id for r in rs) >= 20,
    )
    mine = [r for r in records if r["source_id"] == bridge_id]
    assert {r["channel"] for r in mine} == {"kafka"}
    assert {r["profile_id"] for r in mine} == {"c0", "c1", "c2", "c3"}
    totals = sorted(orjson.loads(r["events"][0]["properties"])["total"] for r in mine)
    assert totals == list(range(20))
    assert len({r["events"][0]["id"] for r in mine}) == 20

    letters = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).deadletter,
        DEAD_LETTER,
        until=lambda rs: any(r["key"] == bridge_id.encode() for r in rs),
    )
    [letter] = [r for r in letters if r["key"] == bridge_id.encode()]
    assert (letter["stage"], letter["payload"]) == ("bridge-kafka", b"not json")
    assert letter["topic"] == f"kafka:{source}"

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_servers)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(f"hw-bridge-production-{bridge_id}")
    finally:
        await admin.close()
    partitions = {TopicPartition(source, p) for p in range(2)}
    total = sum(meta.offset for tp, meta in committed.items() if tp in partitions)
    assert total == 21  # every record, the dead-lettered one too


# --- the channel server restarted ---

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

    await _each_once_in_intake(settings, bridge_id, 900)


async def _each_once_in_intake(settings: Settings, bridge_id: str, count: int) -> None:
    """Every reading ``m0`` .. ``m<count-1>`` reached intake, each as one event id."""
    wanted = {f"m{n}" for n in range(count)}
    seen: set[str] = set()

    def complete(records: list[dict[str, Any]]) -> bool:
        mine = [r for r in records if r["source_id"] == bridge_id]  # the topic is shared
        seen.update(orjson.loads(r["events"][0]["properties"])["id"] for r in mine)
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
    for record in (r for r in records if r["source_id"] == bridge_id):
        [event] = record["events"]
        by_id.setdefault(orjson.loads(event["properties"])["id"], set()).add(event["id"])
    assert set(by_id) == wanted
    assert all(len(ids) == 1 for ids in by_id.values())  # a redelivery is the same event


class RabbitMq:
    """A RabbitMQ of this test, restarted as the same node (durable queues, persistent
    messages kept)."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.server, self._popen = start_rabbitmq(state)

    def restart(self) -> None:
        self.stop()
        self.server, self._popen = start_rabbitmq(self.state, port=self.server.port)

    def stop(self) -> None:
        stop_rabbitmq(self.state, self._popen.pid)
        self._popen.wait(10)


@pytest.fixture
def rabbitmq(tmp_path: Path) -> Iterator[RabbitMq]:
    try:
        broker = RabbitMq(tmp_path / "rabbitmq")
    except ChannelUnavailable as exc:
        pytest.skip(str(exc))
    yield broker
    broker.stop()


async def test_the_amqp_bridge_reconnects_after_a_rabbitmq_restart_and_loses_nothing(
    shared_settings: Settings, initialized: InitResult, rabbitmq: RabbitMq
) -> None:
    settings = shared_settings
    bridge_id, key = str(uuid.uuid4()), f"{settings.topic_prefix}.meter"
    config = amqp_bridge(
        rabbitmq.server,
        f"{settings.topic_prefix}-meter",
        [f"amq.topic:{key}"],
        event_type="value:meter",
        event_id=["json:id"],
    )
    config["subscription"]["prefetch"] = 50  # most of them wait in the queue
    await publish_bridge(settings, bridge_id, config)
    persistent = {"delivery_mode": aio_pika.DeliveryMode.PERSISTENT}

    def readings(ns: range) -> list[tuple[str, bytes, dict[str, Any]]]:
        return [(key, body, persistent) for _, body in _readings(key, ns)]

    async with running_bridges(settings, "amqp") as process:
        await connected(process, bridge_id)
        await publish_amqp(rabbitmq.server, "amq.topic", readings(range(300)))
        await asyncio.to_thread(rabbitmq.restart)  # mid-stream: deliveries not yet acked
        await publish_amqp(rabbitmq.server, "amq.topic", readings(range(300, 600)))

        async def reconnected() -> bool:
            stats = process.stats[bridge_id]
            return stats.connects >= 2 and stats.delivered >= 600

        await eventually(reconnected, timeout=60)
    await _each_once_in_intake(settings, bridge_id, 600)
