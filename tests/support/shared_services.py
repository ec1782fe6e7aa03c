"""One set of engines and channel servers for all the workers of a parallel test run.

``make test`` runs the suite in worker processes (pytest-xdist). Each worker's
session fixtures would otherwise start their own Apache Kafka, OpenSearch, Mosquitto,
RabbitMQ and Dovecot: minutes of start-up and gigabytes of JVMs each. Instead the
controller process starts what the environment does not already name, before the
workers exist, and hands it on through the variables the fixtures read
(``HEADWATER_KAFKA`` / ``HEADWATER_SEARCH``, tests/support/services.py;
``HEADWATER_TEST_MQTT`` and the others, tests/support/channels.py). Tests share
servers safely: each uses its own topic and index prefix, and a test that stops a server
starts its own. The stand-ins (Tansu, osmem) stay per worker: they start in a second.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any

from headwater.commands.up_engines import APACHE
from tests.support.channels import (
    AMQP_ENV,
    IMAP_ENV,
    MQTT_ENV,
    ChannelUnavailable,
    amqp_server,
    imap_server,
    mqtt_server,
)
from tests.support.services import main_kind, started_endpoints

__all__ = ["shared_services"]

log = logging.getLogger(__name__)


@contextmanager
def shared_services(root: Path, environ: dict[str, str]) -> Iterator[dict[str, str]]:
    """The variables naming the servers started here for what ``environ`` lacks; the
    servers stop on exit."""
    found: dict[str, str] = {}
    with ExitStack() as stack:
        named = environ.get("HEADWATER_KAFKA") and environ.get("HEADWATER_SEARCH")
        # stand-ins as the main kind stay per worker: their search server needs a
        # test-only client class that only the worker starting it sets
        if not named and main_kind() == APACHE:
            logs = root / "engines-apache"
            logs.mkdir(parents=True)
            endpoints = stack.enter_context(started_endpoints(APACHE, logs, use_env=True))
            found |= {"HEADWATER_KAFKA": endpoints.kafka, "HEADWATER_SEARCH": endpoints.search}
        starts: list[tuple[str, Callable[[Path], AbstractContextManager[Any]]]] = [
            (MQTT_ENV, mqtt_server),
            (AMQP_ENV, amqp_server),
            (IMAP_ENV, imap_server),
        ]
        for variable, start in starts:
            if environ.get(variable):
                continue
            try:
                server = stack.enter_context(start(root / variable.lower()))
            except ChannelUnavailable as exc:  # each worker's fixture says so again
                log.warning("no shared %s: %s", variable, exc)
                continue
            found |= server.environment()
        yield found
