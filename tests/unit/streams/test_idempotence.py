"""Which producers ask the broker for a producer id (Settings.kafka_idempotence)."""

from __future__ import annotations

import pytest
from aiokafka import errors as kafka_errors

from headwater.settings import load_settings
from headwater.streams import kafka
from headwater.streams.kafka import AckedProducer, idempotence_wanted, new_producer


@pytest.fixture(autouse=True)
def _no_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka, "_REFUSED_IDEMPOTENCE", set())


def test_auto_asks_until_that_cluster_refused() -> None:
    settings = load_settings(kafka="127.0.0.1:9092")
    other = load_settings(kafka="127.0.0.1:9093")
    assert idempotence_wanted(settings) and idempotence_wanted(other)
    kafka._REFUSED_IDEMPOTENCE.add("127.0.0.1:9092")
    assert not idempotence_wanted(settings)
    assert idempotence_wanted(other)


def test_on_and_off_do_not_depend_on_refusals() -> None:
    kafka._REFUSED_IDEMPOTENCE.add("127.0.0.1:9092")
    assert idempotence_wanted(load_settings(kafka="127.0.0.1:9092", kafka_idempotence="on"))
    assert not idempotence_wanted(load_settings(kafka="127.0.0.1:9093", kafka_idempotence="off"))


async def test_an_idempotent_producer_waits_for_every_replica() -> None:
    producer = new_producer(load_settings(kafka="127.0.0.1:9092"), idempotent=True)
    try:
        assert producer._txn_manager is not None  # aiokafka's idempotence state
        assert producer._sender._acks == -1
    finally:
        await producer.stop()


def test_a_bad_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="kafka_idempotence"):
        load_settings(kafka_idempotence="maybe")


def test_only_a_broker_that_answers_with_a_lasting_error_refuses() -> None:
    settings = load_settings(kafka="127.0.0.1:9092")
    producer = AckedProducer(settings)
    assert not producer._refused_idempotence(kafka_errors.KafkaConnectionError())
    assert not producer._refused_idempotence(kafka_errors.RequestTimedOutError())
    assert idempotence_wanted(settings)  # still asking
    assert producer._refused_idempotence(kafka_errors.UnknownError())  # what Tansu answers
    assert not idempotence_wanted(settings)
    insisting = AckedProducer(settings.model_copy(update={"kafka_idempotence": "on"}))
    assert not insisting._refused_idempotence(kafka_errors.UnknownError())
