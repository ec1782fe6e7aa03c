"""The destinations stage publishing for real: Kafka (the test broker), MQTT (Mosquitto),
AMQP (RabbitMQ), both from the ``mqtt`` and ``amqp`` fixtures, and SMTP (an aiosmtpd
server started here)."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from collections.abc import Iterator
from typing import Any

import aio_pika
import aiomqtt
import orjson
import pytest
from aiosmtpd.controller import Controller
from jsonschema import Draft202012Validator

from headwater.adapters.outbound.addresses import AddressGuard
from headwater.adapters.outbound.smtp import SmtpTransport
from headwater.commands.embedded import free_port
from headwater.core.flows import ActionCall, builtin_registry
from headwater.core.flows.state import FlowState, OutboundRequest
from headwater.core.outbound_policy import IPAddress
from headwater.schemas import DEAD_LETTER
from headwater.settings import Settings
from headwater.streams.kafka import AckedProducer, ensure_topics
from headwater.streams.topics import Topics, TopicSpec
from tests.support.channels import AmqpServer, MqttServer
from tests.support.kafka import read_topic
from tests.support.outbound import Letters, outbound_message, outbound_settings, running_stage
from tests.support.polling import eventually

pytestmark = pytest.mark.integration


async def test_kafka_requests_are_produced_and_failures_reach_the_dead_letter_topic(
    settings: Settings,
) -> None:
    topics = Topics(settings.topic_prefix)
    webhooks = f"default.webhooks-{settings.topic_prefix}"  # the tenant's own prefix
    await ensure_topics(settings, [TopicSpec(webhooks, 1), TopicSpec(topics.deadletter, 1)])
    producer = AckedProducer(settings)
    await producer.start(wait=10)

    async def to_dead_letter_topic(key: bytes | None, value: bytes) -> None:
        await producer.send(topics.deadletter, value, key)

    try:
        async with running_stage(settings, to_dead_letter_topic, producer) as stage:
            good = outbound_message("kafka", {"topic": webhooks, "key": "ann"}, {"plan": "pro"})
            bad = outbound_message("kafka", {"no": "topic"}, {})
            result = await stage.handle([good, bad])
    finally:
        await producer.stop()

    assert (result.delivered, result.dead_lettered) == (1, 1)
    codec_free = await _raw_records(settings, webhooks)
    assert codec_free == [(b"ann", {"plan": "pro"})]
    [letter] = await read_topic(
        settings.kafka_servers, topics.deadletter, DEAD_LETTER, until=lambda rs: len(rs) >= 1
    )
    assert letter["stage"] == "destinations"
    assert letter["payload"] == bad.value
    assert "'topic'" in letter["reason"]


async def test_flows_never_publish_to_the_platforms_topics_or_outside_their_prefixes(
    settings: Settings,
) -> None:
    topics = Topics(settings.topic_prefix)
    letters = Letters()
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    try:
        async with running_stage(settings, letters, producer) as stage:
            refused = [
                ("kafka", {"topic": topics.config, "key": "user/acme/*/admin-id"}),
                ("kafka", {"topic": topics.intake, "key": "globex:ann"}),
                ("kafka", {"topic": f"{settings.worker_id}-profiles-changelog"}),
                ("kafka", {"topic": "globex.orders"}),  # another tenant's prefix
                ("mqtt", {"topic": "globex/devices"}),
                ("amqp", {"exchange": "", "routing_key": "globex-queue"}),
            ]
            result = await stage.handle(
                [outbound_message(kind, target, {"x": 1}) for kind, target in refused]
            )
    finally:
        await producer.stop()

    assert (result.delivered, result.dead_lettered, result.attempts) == (0, len(refused), 0)
    reasons = [letter["reason"] for letter in letters.records]
    assert all(r.startswith("outbound request refused") for r in reasons)
    assert sum("belongs to the platform" in r for r in reasons) == 3
    assert sum("outside the tenant's prefixes ('default.', 'default/')" in r for r in reasons) == 3


async def _raw_records(settings: Settings, topic: str) -> list[tuple[bytes, Any]]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_servers)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        found = await eventually(lambda: consumer.getmany(timeout_ms=200))
        return [(m.key, orjson.loads(m.value)) for batch in found.values() for m in batch]
    finally:
        await consumer.stop()


async def test_mqtt_requests_are_published_to_mosquitto(mqtt: MqttServer) -> None:
    topic = f"default/test/{uuid.uuid4().hex}"  # the tenant's own prefix
    letters = Letters()
    settings = outbound_settings(outbound_mqtt_host=mqtt.host, outbound_mqtt_port=mqtt.port)
    async with aiomqtt.Client(mqtt.host, mqtt.port) as subscriber:
        await subscriber.subscribe(topic, qos=1)
        async with running_stage(settings, letters) as stage:
            message = outbound_message("mqtt", {"topic": topic, "qos": 1}, {"hello": "mqtt"})
            result = await stage.handle([message])
        async with asyncio.timeout(10):
            received = await anext(aiter(subscriber.messages))

    assert (result.delivered, letters.records) == (1, [])
    assert str(received.topic) == topic
    assert isinstance(received.payload, bytes)
    assert orjson.loads(received.payload) == {"hello": "mqtt"}


async def test_mqtt_to_a_broker_that_is_down_is_dead_lettered_with_the_error() -> None:
    letters = Letters()
    settings = outbound_settings(outbound_max_attempts=2)
    async with running_stage(settings, letters) as stage:
        target = {"topic": "default/t", "host": "127.0.0.1", "port": free_port()}
        result = await stage.handle([outbound_message("mqtt", target, {})])

    assert (result.dead_lettered, result.attempts) == (1, 2)
    assert "mqtt 127.0.0.1" in letters.records[0]["reason"]


async def test_amqp_requests_are_published_to_rabbitmq(amqp: AmqpServer) -> None:
    letters = Letters()
    settings = outbound_settings(outbound_amqp_url=amqp.url)
    exchange_name = f"default.test-{uuid.uuid4().hex}"  # the tenant's own prefix
    connection = await aio_pika.connect(settings.outbound_amqp_url.get_secret_value())
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(exchange_name, auto_delete=True)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, routing_key="profiles.updated")
        async with running_stage(settings, letters) as stage:
            target = {"exchange": exchange_name, "routing_key": "profiles.updated"}
            missing = {"exchange": exchange_name + "-missing", "routing_key": "x"}
            result = await stage.handle(
                [
                    outbound_message("amqp", target, {"hello": "amqp"}, key="idem-amqp"),
                    outbound_message("amqp", missing, {}),
                ]
            )
        received = await eventually(lambda: queue.get(fail=False))
        await received.ack()
        await exchange.delete()

    assert (result.delivered, result.dead_lettered) == (1, 1)
    assert orjson.loads(received.body) == {"hello": "amqp"}
    assert received.message_id == "idem-amqp"
    [letter] = letters.records
    assert letter["attempts"] == 1  # a missing exchange is permanent
    assert "does not exist" in letter["reason"]


class _Inbox:
    def __init__(self, refuse: str | None = None) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse = refuse

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse and address.startswith(self.refuse):
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox(refuse="nobody@")
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_email_is_sent_over_smtp_and_a_refused_recipient_is_dead_lettered(
    smtp_server: tuple[_Inbox, int],
) -> None:
    inbox, port = smtp_server
    letters = Letters()
    settings = outbound_settings(outbound_smtp_host="127.0.0.1", outbound_smtp_port=port)
    async with running_stage(settings, letters) as stage:
        sent = outbound_message(
            "email",
            {"to": "ann@example.com", "from": "hw@example.com"},
            {"subject": "Welcome", "text": "Hello Ann"},
            key="idem-mail",
        )
        refused = outbound_message("email", {"to": "nobody@example.com", "from": "hw@x.com"}, "x")
        result = await stage.handle([sent, refused])

    assert (result.delivered, result.dead_lettered) == (1, 1)
    [(mail_from, rcpt, content)] = inbox.messages
    assert (mail_from, rcpt) == ("hw@example.com", ["ann@example.com"])
    text = content.decode()
    assert "Subject: Welcome" in text
    assert "Hello Ann" in text
    assert "Message-ID: <idem-mail@headwater>" in text
    [letter] = letters.records
    assert letter["attempts"] == 1
    assert "550" in letter["reason"]


def _email_request(config: dict[str, Any], **traits: Any) -> OutboundRequest:
    """What the send-email action asks for, run as a flow node would run it."""
    spec = builtin_registry().get("send-email")
    assert spec is not None
    Draft202012Validator(spec.config_schema).validate(config)
    event = {"id": "e1", "type": "signup", "time": 0, "properties": {}}
    state = FlowState("flow-1", event, {"id": "p1", "traits": traits}, {}, 0)
    spec.run(ActionCall("mail", config, "payload", {}, state))
    [request] = state.requests
    return request


async def test_the_send_email_action_delivers_to_exactly_its_recipient(
    smtp_server: tuple[_Inbox, int],
) -> None:
    inbox, port = smtp_server
    letters = Letters()
    settings = outbound_settings(
        outbound_smtp_host="127.0.0.1",
        outbound_smtp_port=port,
        outbound_smtp_from="shop@example.com",
    )
    config = {"to": "{{profile.traits.email}}", "subject": "Welcome", "body": "Hi {{profile.id}}"}
    welcome = _email_request(config, email="ann@example.com")
    smuggled = _email_request(config, email="bob@example.com, eve@evil.example")
    injected = _email_request(config, email="bob@example.com\r\nBcc: eve@evil.example")
    async with running_stage(settings, letters) as stage:
        result = await stage.handle(
            [
                outbound_message(r.kind, r.target, r.body, key=r.idempotency_key)
                for r in (welcome, smuggled, injected)
            ]
        )

    assert (result.delivered, result.dead_lettered) == (1, 2)
    [(mail_from, rcpt, content)] = inbox.messages
    assert (mail_from, rcpt) == ("shop@example.com", ["ann@example.com"])
    text = content.decode()
    assert "Subject: Welcome" in text and "Hi p1" in text
    assert "eve@" not in text
    reasons = [letter["reason"] for letter in letters.records]
    assert all("is not one address" in r for r in reasons), reasons
    assert all(letter["attempts"] == 1 for letter in letters.records)


async def test_a_smtp_or_mqtt_server_a_request_names_goes_through_the_address_policy(
    smtp_server: tuple[_Inbox, int],
) -> None:
    inbox, port = smtp_server
    letters = Letters()
    async with running_stage(outbound_settings(outbound_allow=[]), letters) as stage:
        result = await stage.handle(
            [
                outbound_message("email", {"to": "ann@example.com", "host": "127.0.0.1"}, "x"),
                outbound_message("email", {"to": "ann@example.com", "port": port}, "x"),
                outbound_message("mqtt", {"topic": "default/t", "host": "localhost"}, {}),
                outbound_message("mqtt", {"topic": "default/t", "host": "169.254.169.254"}, {}),
            ]
        )
    assert (result.dead_lettered, result.attempts) == (4, 4)
    assert all("outbound address refused" in r["reason"] for r in letters.records)
    assert inbox.messages == []

    async def resolve(host: str, _port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("127.0.0.1")] if host == "mail.test" else []

    settings = outbound_settings()  # loopback allowed
    smtp = SmtpTransport(settings, AddressGuard(settings, resolve))
    target = {"to": "ann@example.com", "host": "mail.test", "port": port}
    await smtp.send(OutboundRequest("email", target, "hi", "key", "flow", "node", "event"))
    [(_, rcpt, _)] = inbox.messages  # through the checked address, named mail.test
    assert rcpt == ["ann@example.com"]
