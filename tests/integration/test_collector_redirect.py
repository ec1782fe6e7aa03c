"""``GET /redirect/{id}`` on the real collector: 307 to the configured URL, a click event."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
import pytest

from headwater.commands.init import InitResult
from headwater.core.redirects import REDIRECT_KIND
from headwater.schemas import INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer
from headwater.streams.topics import Topics
from tests.support.kafka import read_topic
from tests.support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def publish_redirect(settings: Settings, redirect_id: str, data: dict[str, Any]) -> None:
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    try:
        await ConfigPublisher(settings, AvroCodec.default(), producer).publish(
            kind=REDIRECT_KIND,
            tenant="default",
            env=settings.env,
            entity_id=redirect_id,
            data=data,
            version=1,
            updated_by="test",
        )
    finally:
        await producer.stop()


async def test_redirect_records_a_click_and_answers_307(
    collector: str, initialized: InitResult, shared_settings: Settings
) -> None:
    settings = shared_settings
    redirect_id = f"spring-{uuid.uuid4().hex[:8]}"
    target = "https://shop.example/spring?ref=mail"
    await publish_redirect(
        settings,
        redirect_id,
        {
            "url": target,
            "source_id": initialized.sources[settings.env],
            "event_type": "email-click",
            "properties": {"campaign": "spring"},
        },
    )
    async with httpx.AsyncClient(base_url=collector, follow_redirects=False) as http:

        async def answered() -> httpx.Response | None:
            response = await http.get(f"/redirect/{redirect_id}", params={"utm_source": "mail"})
            return response if response.status_code != 404 else None

        response = await eventually(answered, timeout=15)
        unknown = await http.get("/redirect/no-such-link")
    assert response.status_code == 307
    assert response.headers["location"] == target
    assert unknown.status_code == 404 and unknown.json()["field"] == "redirect_id"

    def clicks(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {**e, "channel": r["channel"]}
            for r in records
            for e in r["events"]
            if e["type"] == "email-click"
            and orjson.loads(e["properties"])["redirect"]["id"] == redirect_id
        ]

    records = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).intake,
        INTAKE_BATCH,
        until=lambda rs: bool(clicks(rs)),
    )
    [click] = clicks(records)
    assert click["channel"] == "redirect"
    assert orjson.loads(click["properties"]) == {
        "utm_source": "mail",
        "campaign": "spring",
        "redirect": {"id": redirect_id, "url": target},
    }
