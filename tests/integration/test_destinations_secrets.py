"""Secrets a flow names (``{{secret.NAME}}``) are filled by the destinations stage right
before sending, from the config topic: the flow run and ``hw.outbound`` only ever hold
the placeholder; a secret missing in the request's environment is dead-lettered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from headwater.adapters.secrets import SecretBox, StoredSecrets
from headwater.core.automation import FLOW_KIND
from headwater.core.config import config_key
from headwater.core.flows.model import Flow
from headwater.core.flows.registry import builtin_registry
from headwater.core.flows.runner import run_flow
from headwater.core.flows.validation import validate_flow
from headwater.core.secrets import SECRET_KIND
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigLog, ConfigPublisher
from headwater.streams.deadletter import SourceMessage
from headwater.streams.kafka import AckedProducer, ensure_topics
from headwater.streams.topics import Topics
from tests.support.http_sink import http_sink
from tests.support.outbound import Letters, outbound_message, outbound_settings, running_stage

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

KEY = "secrets-key-for-tests-0123456789abcdef"
VALUE = "crm-token-7f3a9c1e5b2d4f60"
PLACEHOLDER = "Bearer {{secret.crm_token}}"


def _with_key(settings: Settings, key: str | None = KEY) -> Settings:
    """The broker of ``settings``, the small outbound budgets of the outbound tests."""
    return outbound_settings(
        kafka=settings.kafka, topic_prefix=settings.topic_prefix, secrets_key=key
    )


@pytest_asyncio.fixture(loop_scope="session")
async def config(settings: Settings) -> AsyncIterator[ConfigLog]:
    # the topics first: a config log of a topic that does not exist never reaches its end
    await ensure_topics(settings, Topics(settings.topic_prefix).specs(settings.partitions))
    log = ConfigLog(settings, AvroCodec.default())
    await log.start(wait=30)
    yield log
    await log.stop()


async def _publish(settings: Settings, config: ConfigLog, kind: str, name: str, data: Any) -> None:
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    try:
        await ConfigPublisher(settings, AvroCodec.default(), producer).publish(
            kind=kind,
            tenant="default",
            env="production",
            entity_id=name,
            data=data,
            version=1,
            updated_by="test",
        )
    finally:
        await producer.stop()
    await config.wait_for(config_key(kind, "default", "production", name), 1)


def _flow(url: str, headers: dict[str, str], body: Any = None) -> dict[str, Any]:
    config: dict[str, Any] = {"url": url, "headers": headers}
    if body is not None:
        config["body"] = body
    return {
        "name": "to the CRM",
        "nodes": [
            {"id": "start", "action": "start"},
            {"id": "node-1", "action": "http-call", "config": config},
        ],
        "edges": [{"from": "start", "to": "node-1"}],
    }


async def _deliver(
    settings: Settings, config: ConfigLog, letters: Letters, message: SourceMessage
) -> Any:
    """``message`` through a destinations stage that fills the stored secrets."""
    stage_settings = _with_key(settings)
    async with running_stage(
        stage_settings, letters, fill=StoredSecrets(stage_settings, config)
    ) as stage:
        return await stage.handle([message])


def _run(flow: dict[str, Any], properties: dict[str, Any]) -> Any:
    """The outbound request the flow runner makes of ``flow`` for one event."""
    parsed = validate_flow(Flow.from_dict({**flow, "id": "flow-1"}), builtin_registry())
    event = {"id": "event-1", "type": "signed-up", "time": 1, "properties": properties}
    result = run_flow(parsed, builtin_registry(), event=event, profile={}, session={}, now_ms=1)
    [request] = result.requests
    return request


async def test_a_named_secret_reaches_the_destination_and_only_its_placeholder_is_recorded(
    settings: Settings, config: ConfigLog
) -> None:
    sealed = SecretBox(KEY).seal(VALUE)
    await _publish(settings, config, SECRET_KIND, "crm_token", {"sealed": sealed})
    letters = Letters()
    async with http_sink([200]) as sink:
        flow = _flow(sink.url, {"Authorization": PLACEHOLDER})
        await _publish(settings, config, FLOW_KIND, "flow-1", flow)
        request = _run(flow, {})
        assert request.target["headers"]["Authorization"] == PLACEHOLDER  # the runner's
        message = outbound_message("http", request.target, request.body)  # hw.outbound
        assert PLACEHOLDER.encode() in message.value
        assert VALUE.encode() not in message.value
        result = await _deliver(settings, config, letters, message)

    assert (result.delivered, result.dead_lettered) == (1, 0), letters.records
    [received] = sink.received
    assert received.headers["authorization"] == f"Bearer {VALUE}"


async def test_a_missing_secret_is_dead_lettered_with_the_reason_and_not_sent(
    settings: Settings, config: ConfigLog
) -> None:
    letters = Letters()
    async with http_sink([200]) as sink:
        flow = _flow(sink.url, {"Authorization": "Bearer {{secret.nope}}"})
        await _publish(settings, config, FLOW_KIND, "flow-1", flow)
        request = _run(flow, {})
        result = await _deliver(
            settings, config, letters, outbound_message("http", request.target, request.body)
        )

    assert (result.delivered, result.dead_lettered, result.attempts) == (0, 1, 0)
    assert sink.received == []
    [letter] = letters.records
    assert "secret nope is not set in production" in letter["reason"]


async def test_event_data_cannot_name_a_secret_its_node_does_not_name(
    settings: Settings, config: ConfigLog
) -> None:
    sealed = SecretBox(KEY).seal(VALUE)
    await _publish(settings, config, SECRET_KIND, "crm_token", {"sealed": sealed})
    letters = Letters()
    async with http_sink([200]) as sink:
        flow = _flow(sink.url, {}, body={"note": "{{event.properties.note}}"})
        await _publish(settings, config, FLOW_KIND, "flow-1", flow)
        request = _run(flow, {"note": "{{secret.crm_token}}"})  # sent to a public source
        assert request.body == {"note": "{{secret.crm_token}}"}
        result = await _deliver(
            settings, config, letters, outbound_message("http", request.target, request.body)
        )

    assert (result.delivered, result.dead_lettered) == (0, 1)
    assert sink.received == []
    assert (
        "secret crm_token is not named by flow flow-1 node node-1" in letters.records[0]["reason"]
    )


async def test_without_the_key_or_in_an_error_text_no_value_is_shown(
    settings: Settings, config: ConfigLog
) -> None:
    sealed = SecretBox(KEY).seal(VALUE)
    await _publish(settings, config, SECRET_KIND, "crm_token", {"sealed": sealed})
    letters = Letters()
    async with http_sink([400]) as sink:
        flow = _flow(sink.url.split("?")[0] + "/{{secret.crm_token}}", {})
        await _publish(settings, config, FLOW_KIND, "flow-1", flow)
        request = _run(flow, {})
        message = outbound_message("http", request.target, request.body)
        for key in (None, KEY):
            stage_settings = _with_key(settings, key)
            async with running_stage(
                stage_settings, letters, fill=StoredSecrets(stage_settings, config)
            ) as stage:
                await stage.handle([message])

    unset, refused = (letter["reason"] for letter in letters.records)
    assert "HEADWATER_SECRETS_KEY is not set" in unset
    assert "answered 400" in refused
    assert len(sink.received) == 1 and VALUE in sink.received[0].path  # sent with key only
    assert all(
        VALUE not in r["reason"] and VALUE.encode() not in r["payload"] for r in letters.records
    )
