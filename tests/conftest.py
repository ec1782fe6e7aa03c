"""Fixtures shared by every test folder."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support.channels import (
    AmqpServer,
    ChannelUnavailable,
    ImapServer,
    MqttServer,
    amqp_server,
    imap_server,
    mqtt_server,
)
from tests.support.services import STANDINS, Endpoints, main_kind, started_endpoints
from tests.support.shared_services import shared_services

_SHARED = pytest.StashKey[ExitStack]()


def pytest_configure(config: pytest.Config) -> None:
    """In a parallel run's controller (``-n N``, before the workers start): one set of
    engines and channel servers for every worker (tests/support/shared_services.py)."""
    parallel = getattr(config.option, "numprocesses", None)
    if not parallel or hasattr(config, "workerinput"):
        return
    stack = config.stash[_SHARED] = ExitStack()
    root = Path(tempfile.mkdtemp(prefix="headwater-tests-"))
    stack.callback(shutil.rmtree, root, ignore_errors=True)
    os.environ.update(stack.enter_context(shared_services(root, dict(os.environ))))


def pytest_unconfigure(config: pytest.Config) -> None:
    if (stack := config.stash.get(_SHARED, None)) is not None:
        stack.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that needs engines runs on the main kind; ``smoke`` tests also on the
    stand-ins when the main kind is Apache (tests/support/services.py)."""
    if "endpoints" not in metafunc.fixturenames:
        return
    kinds = [main_kind()]
    if metafunc.definition.get_closest_marker("smoke") and STANDINS not in kinds:
        kinds.append(STANDINS)
    metafunc.parametrize("endpoints", kinds, indirect=True, scope="session")


@pytest.fixture(scope="session")
def endpoints(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Endpoints]:
    """A real Kafka-protocol broker and search server (see tests/support/services.py)."""
    kind: str = request.param
    logs: Path = tmp_path_factory.mktemp(f"engines-{kind}")
    with started_endpoints(kind, logs, use_env=kind == main_kind()) as found:
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


@pytest.fixture(scope="session")
def imap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    """A Dovecot IMAP server on loopback, IDLE on (tests/support/channels.py)."""
    yield from _channel_or_skip(imap_server, tmp_path_factory.mktemp("dovecot"))


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A test that runs ``headwater`` commands in-process gets their logging set-up
    (observability/logs.py replaces the root handlers with one on the stderr of the
    moment, pytest's capture): put the root logger back afterwards, so a later test's
    thread never logs to a closed capture stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
