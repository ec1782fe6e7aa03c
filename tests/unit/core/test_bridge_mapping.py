"""A channel message becomes one intake batch through the collector's builder."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from headwater.core.bridge_config import Bridge, parse_spec, valid_mqtt_filter
from headwater.core.bridge_mapping import ChannelMessage, MessageMapper
from headwater.core.intake import IntakeLimits
from headwater.errors import InvalidInput, MalformedInput, PayloadTooLarge
from headwater.schemas import INTAKE_BATCH
from headwater.streams.codec import AvroCodec

LIMITS = IntakeLimits(max_event_bytes=2048, max_request_bytes=4096)
RECEIVED = 1_767_225_600_000  # 2026-01-01


def bridge(channel: str = "mqtt", **mapping: Any) -> Bridge:
    subscription = {"topics": ["sensors/#"]} if channel == "mqtt" else {"queue": "q"}
    return Bridge.model_validate(
        {
            "id": "b1",
            "tenant": "acme",
            "env": "production",
            "channel": channel,
            "connection": {"url": f"{channel}://127.0.0.1:1"},
            "subscription": subscription,
            "mapping": {"event_type": "topic:-1", **mapping},
        }
    )


def message(body: Any, topic: str = "sensors/kitchen/reading", **extra: Any) -> ChannelMessage:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return ChannelMessage(body=raw, topic=topic, received_at=RECEIVED, **extra)


def test_a_message_becomes_one_event_keyed_by_its_profile() -> None:
    mapper = MessageMapper(bridge(profile_id="json:device.owner", event_time="json:at"), LIMITS)
    accepted = mapper(
        message({"device": {"owner": "ann"}, "t": 21.5, "at": "2025-12-31T10:00:00Z"})
    )

    assert accepted.key == b"acme:production:ann"
    assert accepted.profile_id == "ann"
    record = accepted.record
    assert (record["source_id"], record["channel"], record["tenant"]) == ("b1", "mqtt", "acme")
    assert record["profile_less"] is False
    [event] = record["events"]
    assert event["type"] == "reading"
    assert orjson.loads(event["properties"]) == {
        "device": {"owner": "ann"}, "t": 21.5, "at": "2025-12-31T10:00:00Z"
    }  # fmt: skip
    assert event["time"] == 1_767_175_200_000
    assert orjson.loads(event["context"])["bridge"]["topic"] == "sensors/kitchen/reading"
    AvroCodec.default().encode(INTAKE_BATCH, record)  # what the bridge sends encodes


def test_a_redelivered_message_is_the_same_record_down_to_its_key() -> None:
    mapper = MessageMapper(bridge(), LIMITS)
    first, again = mapper(message({"t": 1})), mapper(message({"t": 1}))
    other = mapper(message({"t": 2}))

    assert first.record == again.record and first.key == again.key  # profile-less too
    assert first.record["profile_less"] is True
    assert other.event_ids != first.event_ids


def test_the_event_id_hashes_what_the_mapping_names_with_the_bridge_id() -> None:
    by_id = MessageMapper(bridge(event_id=["json:id"]), LIMITS)
    a = by_id(message({"id": "m-1", "t": 1}))
    b = by_id(message({"id": "m-1", "t": 2}, topic="sensors/x/other"))
    c = by_id(message({"id": "m-2", "t": 1}))
    assert a.event_ids == b.event_ids != c.event_ids

    elsewhere = bridge(event_id=["json:id"]).model_copy(update={"id": "b2"})
    assert MessageMapper(elsewhere, LIMITS)(message({"id": "m-1"})).event_ids != a.event_ids

    amqp = MessageMapper(bridge("amqp", event_type="topic", event_id=["message_id"]), LIMITS)
    d = amqp(message({}, topic="orders.created", separator=".", message_id="abc"))
    assert d.event_ids == amqp(message({"x": 1}, topic="o", message_id="abc")).event_ids
    with pytest.raises(InvalidInput, match="event_id: message_id is missing"):
        amqp(message({}, topic="o"))  # never a random id: a redelivery would duplicate


def test_values_come_from_a_fixed_text_topic_levels_headers_and_paths() -> None:
    mapper = MessageMapper(
        bridge(
            "amqp",
            event_type="value:order",
            profile_id="header:x-user",
            properties={"route": "topic", "kind": "topic:1", "sku": "json:$.item.sku"},
        ),
        LIMITS,
    )
    accepted = mapper(
        message(
            {"item": {"sku": "A1"}},
            topic="shop.order.created",
            separator=".",
            headers={"x-user": "u7"},
        )
    )
    [event] = accepted.record["events"]
    assert event["type"] == "order"
    assert accepted.profile_id == "u7"
    assert orjson.loads(event["properties"]) == {
        "route": "shop.order.created", "kind": "order", "sku": "A1"
    }  # fmt: skip


def test_a_payload_that_is_not_an_object_is_its_value() -> None:
    [event] = MessageMapper(bridge(), LIMITS)(message(b"21.5")).record["events"]
    assert orjson.loads(event["properties"]) == {"value": 21.5}


@pytest.mark.parametrize(
    ("mapping", "body", "error", "reason"),
    [
        ({}, b"{not json", MalformedInput, "expected a JSON payload"),
        ({}, b"[" + b"1," * 2000 + b"1]", PayloadTooLarge, "over the 2048-byte limit"),
        ({"event_type": "json:type"}, {"x": 1}, InvalidInput, "event_type: json:type is missing"),
        ({"event_type": "json:type"}, {"type": {"a": 1}}, InvalidInput, "not a text"),
        ({"event_type": "json:type"}, {"type": "x" * 200}, InvalidInput, "events[0].type"),
        (
            {"profile_id": "json:who", "profile_required": True},
            {},
            InvalidInput,
            "profile_id: json:who is missing",
        ),
        ({"profile_id": "json:who"}, {"who": "a b"}, InvalidInput, "profile.id"),
        ({"event_time": "json:at"}, {"at": "yesterday"}, InvalidInput, "event_time"),
        ({"event_time": "json:at"}, {}, InvalidInput, "event_time: json:at is missing"),
    ],
)
def test_what_cannot_become_an_event_raises_the_reason(
    mapping: dict[str, Any], body: Any, error: type[Exception], reason: str
) -> None:
    mapper = MessageMapper(bridge(**mapping), LIMITS)
    with pytest.raises(error) as raised:
        mapper(message(body))
    assert reason in str(raised.value)


def test_a_missing_optional_profile_id_makes_a_profile_less_event() -> None:
    accepted = MessageMapper(bridge(profile_id="json:who"), LIMITS)(message({"t": 1}))
    assert accepted.profile_id is None and accepted.record["profile_less"] is True


def test_epoch_times_in_seconds_and_milliseconds() -> None:
    mapper = MessageMapper(bridge(event_time="json:at"), LIMITS)
    for at in (1_767_225_600, 1_767_225_600_000):
        [event] = mapper(message({"at": at})).record["events"]
        assert event["time"] == RECEIVED


@pytest.mark.parametrize(
    "spec", ["value:x", "topic", "topic:-1", "topic:2", "json:a.b", "json:$.a", "header:x-id"]
)
def test_value_specs(spec: str) -> None:
    assert parse_spec(spec).text == spec


@pytest.mark.parametrize("spec", ["", "topic:x", "json:", "json:a..b", "header:", "fixed:x"])
def test_bad_value_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="value spec"):
        parse_spec(spec)


@pytest.mark.parametrize(
    ("topic", "valid"),
    [("a/b", True), ("a/+/c", True), ("#", True), ("a/#", True), ("a/#/b", False),
     ("a+/b", False), ("a/b#", False), ("", False)],
)  # fmt: skip
def test_mqtt_topic_filters(topic: str, valid: bool) -> None:
    assert valid_mqtt_filter(topic) is valid


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"connection": {"url": "http://h:1"}}, "connection.url must be mqtt or mqtts"),
        ({"connection": {"url": "mqtt://u:p@h:1"}}, "no credentials"),
        ({"subscription": {"queue": "q"}}, "subscription.topics"),
        ({"channel": "amqp", "connection": {"url": "amqp://h"}}, "subscription.queue"),
        ({"mapping": {"event_type": "nope"}}, "not a value spec"),
        ({"subscription": {"topics": ["a/#/b"]}}, "not an MQTT topic filter"),
        ({"channel": "kafka", "connection": {"url": "kafka://h:9092"}}, "Kafka topic names"),
        ({"channel": "kafka", "connection": {"url": "mqtt://h"}}, "kafka or kafkas"),
    ],
)
def test_bridges_that_could_never_run_are_refused(change: dict[str, Any], reason: str) -> None:
    data = {**bridge().model_dump(), **change}
    with pytest.raises(ValidationError, match=reason):
        Bridge.model_validate(data)


def test_the_mqtt_client_id_is_stable_and_differs_per_environment() -> None:
    production = bridge()
    staging = production.model_copy(update={"env": "staging"})
    assert production.client_id == bridge().client_id != staging.client_id


def test_a_kafka_bridge_names_its_bootstrap_servers_and_a_stable_group() -> None:
    kafka = Bridge.model_validate(
        {
            **bridge().model_dump(),
            "channel": "kafka",
            "connection": {"url": "kafka://k1:9092,k2:9092"},
            "subscription": {"topics": ["shop.orders"]},
        }
    )
    assert kafka.connection.where == "kafka://k1:9092,k2:9092"
    assert kafka.group_id == "hw-bridge-production-b1"
