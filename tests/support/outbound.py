"""Outbound requests as the workflow runner writes them, and a destinations stage wired
to real transports with dead letters kept in a list (or sent to a real topic)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson

from headwater.adapters.outbound import build_transports
from headwater.agents.destinations import DestinationsStage, SecretFiller, no_secrets
from headwater.schemas import DEAD_LETTER, OUTBOUND_REQUEST
from headwater.settings import Settings, load_settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.kafka import AckedProducer

CODEC = AvroCodec.default()
_offsets = itertools.count()


def outbound_message(
    kind: str,
    target: dict[str, Any],
    body: Any,
    *,
    key: str = "idem-1",
    not_before_ms: int | None = None,
    topic: str = "hw.outbound",
) -> SourceMessage:
    record = {
        "tenant": "default",
        "env": "production",
        "profile_id": "ann",
        "kind": kind,
        "target": orjson.dumps(target),
        "body": orjson.dumps(body),
        "idempotency_key": key,
        "flow_id": "flow-1",
        "node_id": "node-1",
        "event_id": "event-1",
        "not_before_ms": not_before_ms,
    }
    value = CODEC.encode(OUTBOUND_REQUEST, record)
    return SourceMessage(topic, 0, next(_offsets), b"default:ann", value)


class Letters:
    """Dead letters kept in memory, decoded."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    async def __call__(self, key: bytes | None, value: bytes) -> None:
        self.records.append(CODEC.decode(DEAD_LETTER, value))


# The test servers (HTTP sink, SMTP, Mosquitto) listen on loopback, which the outbound
# policy refuses unless the operator allows it: these tests allow it, explicitly.
ALLOW_LOOPBACK = ["127.0.0.1"]


def outbound_settings(**overrides: Any) -> Settings:
    """Small budgets so failing tests end quickly; no broker needed. Loopback is
    allowed (:data:`ALLOW_LOOPBACK`) unless ``outbound_allow`` says otherwise."""
    values: dict[str, Any] = {
        "outbound_allow": ALLOW_LOOPBACK,
        "outbound_timeout": 2.0,
        "outbound_max_attempts": 5,
        "outbound_backoff": 0.01,
        "outbound_max_backoff": 0.05,
        "outbound_breaker_failures": 3,
        "outbound_breaker_cooldown": 0.2,
        "outbound_budget": 10.0,
    }
    values.update(overrides)
    return load_settings(**values)


@asynccontextmanager
async def running_stage(
    settings: Settings,
    send: Any,
    producer: AckedProducer | None = None,
    fill: SecretFiller = no_secrets,
) -> AsyncIterator[DestinationsStage]:
    """The stage with every real transport started (and closed after); ``fill`` puts
    stored secrets into requests (none by default)."""
    transports = build_transports(settings, producer or AckedProducer(settings))
    for transport in transports.values():
        await transport.start()
    try:
        yield DestinationsStage(
            settings, CODEC, transports, DeadLetters(CODEC, "destinations", send), fill=fill
        )
    finally:
        for transport in transports.values():
            await transport.close()
