"""Typed settings from HEADWATER_* environment variables."""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr, ValidationError

from headwater.errors import ConfigurationError
from headwater.settings import Settings, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Start every test from an environment with no Headwater variables."""
    for name in list(os.environ):
        if name.upper().startswith("HEADWATER_"):
            monkeypatch.delenv(name)


def test_defaults():
    settings = load_settings()

    assert isinstance(settings, Settings)
    assert settings.kafka is None
    assert settings.search is None
    assert settings.partitions == 6
    assert settings.env == "production"
    assert settings.topic_prefix == "hw"


def test_reads_environment(monkeypatch):
    monkeypatch.setenv("HEADWATER_KAFKA", "k1:9092,k2:9092")
    monkeypatch.setenv("HEADWATER_SEARCH", "http://s1:9200, http://s2:9200 ,")
    monkeypatch.setenv("HEADWATER_PARTITIONS", "12")
    monkeypatch.setenv("HEADWATER_ENV", "staging")
    monkeypatch.setenv("HEADWATER_SEARCH_VERIFY_CERTS", "false")

    settings = load_settings()

    assert settings.kafka_servers == "k1:9092,k2:9092"
    assert settings.search_hosts == ["http://s1:9200", "http://s2:9200"]
    assert settings.partitions == 12
    assert settings.env == "staging"
    assert settings.search_verify_certs is False


def test_overrides_win_over_environment(monkeypatch):
    monkeypatch.setenv("HEADWATER_PARTITIONS", "12")
    monkeypatch.setenv("HEADWATER_KAFKA", "env:9092")

    settings = load_settings(partitions=3, kafka="override:9092")

    assert settings.partitions == 3
    assert settings.kafka_servers == "override:9092"


def test_settings_are_frozen():
    settings = load_settings(partitions=3)

    with pytest.raises(ValidationError):
        settings.partitions = 4
    assert settings.partitions == 3


@pytest.mark.parametrize("value", [None, "", "   "])
def test_kafka_unset_or_blank_refuses_to_guess(monkeypatch, value):
    if value is not None:
        monkeypatch.setenv("HEADWATER_KAFKA", value)
    settings = load_settings()

    assert settings.kafka is None
    with pytest.raises(ConfigurationError, match="HEADWATER_KAFKA"):
        _ = settings.kafka_servers


@pytest.mark.parametrize("value", [None, "", " \t "])
def test_search_unset_or_blank_refuses_to_guess(monkeypatch, value):
    if value is not None:
        monkeypatch.setenv("HEADWATER_SEARCH", value)
    settings = load_settings()

    assert settings.search is None
    with pytest.raises(ConfigurationError, match="HEADWATER_SEARCH"):
        _ = settings.search_hosts


def test_search_of_only_commas_refuses_to_guess():
    settings = load_settings(search=" , ")

    with pytest.raises(ConfigurationError):
        _ = settings.search_hosts


def test_blank_override_is_unset():
    with pytest.raises(ConfigurationError):
        _ = load_settings(kafka="  ").kafka_servers


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("partitions", 0),
        ("partitions", 1025),
        ("collector_port", 0),
        ("max_event_bytes", 10),
        ("env", "dev"),
        ("topic_prefix", "Hw"),
        ("index_prefix", "hw-x"),
        ("default_tenant", "Acme"),
    ],
)
def test_invalid_values_are_refused(field, value):
    with pytest.raises(ValidationError):
        load_settings(**{field: value})


def test_invalid_partitions_from_environment(monkeypatch):
    monkeypatch.setenv("HEADWATER_PARTITIONS", "0")

    with pytest.raises(ValidationError, match="partitions"):
        load_settings()


def test_secrets_are_hidden(monkeypatch):
    monkeypatch.setenv("HEADWATER_SEARCH_PASSWORD", "hunter2-password")
    settings = load_settings(search_api_key="k3y-s3cr3t")

    assert isinstance(settings.search_password, SecretStr)
    assert isinstance(settings.search_api_key, SecretStr)
    assert settings.search_password.get_secret_value() == "hunter2-password"
    assert settings.search_api_key.get_secret_value() == "k3y-s3cr3t"
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "hunter2-password" not in text
        assert "k3y-s3cr3t" not in text


def test_kafka_security_options_follow_the_settings(tmp_path):
    from headwater.errors import ConfigurationError as Refused
    from headwater.streams.kafka import kafka_client_options

    plain = kafka_client_options(load_settings(kafka="k:9092"))
    assert plain == {"bootstrap_servers": "k:9092", "security_protocol": "PLAINTEXT"}

    sasl = kafka_client_options(
        load_settings(
            kafka="k:9093",
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_username="hw",
            kafka_password="s3cret",
        )
    )
    assert sasl["sasl_mechanism"] == "SCRAM-SHA-512"
    assert sasl["sasl_plain_password"] == "s3cret"
    assert sasl["ssl_context"] is not None

    with pytest.raises(Refused, match="SASL"):
        kafka_client_options(load_settings(kafka="k", kafka_security_protocol="SASL_PLAINTEXT"))


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (
            "HEADWATER_STORAGE_BATCH_MESSAGES",
            "HEADWATER_STAGE_BATCH_MESSAGES",
            "stage_batch_messages",
        ),
        ("HEADWATER_STORAGE_BATCH_SECONDS", "HEADWATER_STAGE_BATCH_SECONDS", "stage_batch_seconds"),
        ("HEADWATER_STORAGE_MAX_BACKOFF", "HEADWATER_STAGE_MAX_BACKOFF", "stage_max_backoff"),
    ],
)
def test_a_renamed_variable_is_refused_with_its_new_name(monkeypatch, old, new, field):
    monkeypatch.setenv(new, "7")
    assert float(getattr(load_settings(), field)) == 7
    monkeypatch.setenv(old, "7")
    with pytest.raises(ConfigurationError, match=f"{old} is now {new}"):
        load_settings()
