"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support.channels import (
    AmqpServer,
    ChannelUnavailable,
    MqttServer,
    amqp_server,
    mqtt_server,
)
from tests.support.services import Endpoints, container_endpoints, embedded_endpoints


@pytest.fixture(scope="session", params=["embedded", "containers"])
def endpoints(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Endpoints]:
    """A real Kafka-protocol broker and search server (see tests/support/services.py)."""
    if request.param == "containers":
        with container_endpoints() as found:
            yield found
    else:
        logs: Path = tmp_path_factory.mktemp("services")
        with embedded_endpoints(logs) as found:
            yield found


T = TypeVar("T")


def _channel_or_skip(start: Callable[[Path], AbstractContextManager[T]], path: Path) -> Iterator[T]:
    try:
        with start(path) as server:
            yield server
    except ChannelUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run every channel test: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def mqtt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MqttServer]:
    """A Mosquitto broker on loopback (tests/support/channels.py)."""
    yield from _channel_or_skip(mqtt_server, tmp_path_factory.mktemp("mosquitto"))


@pytest.fixture(scope="session")
def amqp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AmqpServer]:
    """A RabbitMQ broker on loopback (tests/support/channels.py)."""
    yield from _channel_or_skip(amqp_server, tmp_path_factory.mktemp("rabbitmq"))
