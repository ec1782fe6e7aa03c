"""Signed webhooks end to end: a Stripe-signed ``/collect`` source through the real
collector, broker, worker and search server. A correctly signed event becomes
searchable; a wrong signature, a stale timestamp and a replay get 401 and leave nothing
in the event log or in search."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from headwater.adapters.search import connect_search
from headwater.adapters.secrets import SecretBox
from headwater.commands.init import run_init
from headwater.core.sources import SOURCE_KIND
from headwater.core.tenancy import events_alias
from headwater.schemas import INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer
from headwater.streams.topics import Topics
from tests.integration.conftest import running_collector
from tests.support.kafka import read_topic
from tests.support.polling import eventually
from tests.support.processes import start_worker
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e

KEY = "secrets-key-for-tests-0123456789abcdef"
STRIPE_SECRET = "whsec_e2e_7d1f0c2b9a8e4f6d5c3b2a10"


def stripe_headers(body: bytes, t: int) -> dict[str, str]:
    """What Stripe sends (stripe.com/docs/webhooks, "Verify manually"), computed here."""
    digest = hmac.new(STRIPE_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"stripe-signature": f"t={t},v1={digest}", "content-type": "application/json"}


def event(marker: str) -> bytes:
    return orjson.dumps({"id": marker, "object": "event", "type": "charge.succeeded"})


async def publish_signed_source(settings: Settings, source_id: str) -> None:
    """A production source taking Stripe-signed webhooks, with its sealed secret."""
    producer = AckedProducer(settings)
    try:
        await producer.start(wait=10)
        await ConfigPublisher(settings, AvroCodec.default(), producer).publish(
            kind=SOURCE_KIND,
            tenant="default",
            env="production",
            entity_id=source_id,
            data={
                "name": "stripe",
                "channels": ["collect"],
                "signature": {"preset": "stripe"},
                "signing_secrets": [{"id": "ss_1", "sealed": SecretBox(KEY).seal(STRIPE_SECRET)}],
            },
            version=1,
            updated_by="test",
        )
    finally:
        await producer.stop()


async def test_only_correctly_signed_fresh_webhooks_are_stored_and_searchable(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path, secrets_key=KEY)
    await run_init(settings)
    worker = start_worker(settings, tmp_path / "worker.log")  # boots while the rest is set up
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    source_id = str(uuid.uuid4())
    session = f"s-{uuid.uuid4().hex[:12]}"  # one session: one partition, stored in order
    url = f"/collect/charge.succeeded/{source_id}/{session}"
    try:
        await publish_signed_source(settings, source_id)
        now = int(time.time())
        async with running_collector(settings) as base, httpx.AsyncClient(base_url=base) as http:

            async def post(body: bytes, headers: dict[str, str]) -> httpx.Response:
                return await http.post(url, content=body, headers=headers)

            good_headers = stripe_headers(event("good"), now)
            good = await post(event("good"), good_headers)
            assert good.status_code == 200, good.text
            statuses = {
                "wrong": await post(event("wrong"), stripe_headers(event("other"), now)),
                "stale": await post(event("stale"), stripe_headers(event("stale"), now - 301)),
                "replay": await post(event("good"), good_headers),
                "unsigned": await post(event("unsigned"), {"content-type": "application/json"}),
            }
            reasons = {name: (r.status_code, r.json()["error"]) for name, r in statuses.items()}
            last = await post(event("last"), stripe_headers(event("last"), now))
            assert last.status_code == 200, last.text

        assert {name: status for name, (status, _) in reasons.items()} == dict.fromkeys(
            statuses, 401
        )
        assert "does not match" in reasons["wrong"][1]
        assert "outside the 300s tolerance" in reasons["stale"][1]
        assert "replay" in reasons["replay"][1]
        assert "Stripe-Signature is missing" in reasons["unsigned"][1]

        alias = events_alias(settings.index_prefix, "default", "production")
        query = {"term": {"source.id": source_id}}

        async def both_stored() -> list[dict[str, Any]] | None:
            await store.refresh(alias)
            hits = (await store.search(alias, query=query, size=20))["hits"]["hits"]
            return hits if len(hits) >= 2 else None

        hits = await eventually(both_stored, timeout=60, every=0.3)
        stored = {h["_source"]["id"]: h["_source"]["properties"]["id"] for h in hits}
        assert stored == {good.json()["events"][0]: "good", last.json()["events"][0]: "last"}
    finally:
        await store.close()
        worker.stop()

    # the event log holds the two accepted events only (one session: one partition, in order)
    records = await read_topic(
        settings.kafka_servers,
        Topics(settings.topic_prefix).intake,
        INTAKE_BATCH,
        until=lambda rs: sum(r["session_id"] == session for r in rs) >= 2,
    )
    logged = [e for r in records if r["session_id"] == session for e in r["events"]]
    assert sorted(orjson.loads(e["properties"])["id"] for e in logged) == ["good", "last"]
