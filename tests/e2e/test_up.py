"""``headwater up``: from nothing to events searchable, then a clean stop."""

from __future__ import annotations

import hashlib
import hmac
import signal
import socket
import time
import uuid
from pathlib import Path

import httpx
import pytest

from headwater.adapters.secrets import SecretBox
from headwater.core.sources import SOURCE_KIND
from headwater.core.tenancy import events_alias
from headwater.settings import load_settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer
from tests.e2e.conftest import UpStack, run_up
from tests.support.polling import eventually
from tests.support.services import Endpoints

pytestmark = [pytest.mark.e2e, pytest.mark.smoke]


def test_up_uses_configured_endpoints_and_starts_neither(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    if not endpoints.standins:
        pytest.skip("on Apache engines the up_stack fixture passes the endpoints already")
    with run_up(tmp_path, endpoints) as stack:
        assert stack.info["kafka"] == endpoints.kafka
        assert stack.info["search"] == endpoints.search
        logs = {p.name for p in (tmp_path / "logs").iterdir()}
    assert logs == {"collector.log", "worker.log", "api.log"}


def test_up_prints_what_a_script_needs(up_stack: UpStack) -> None:
    info = up_stack.info
    assert {
        "collector",
        "api",
        "search",
        "kafka",
        "tenant",
        "env",
        "source_id",
        "write_key",
    } <= set(info)
    assert info["write_key"].startswith("hw_")
    assert info["tenant"] == "default" and info["env"] == "production"
    assert (up_stack.data_dir / "logs" / "collector.log").exists()


async def test_up_serves_the_private_api_with_a_local_secret(up_stack: UpStack) -> None:
    api = up_stack.info["api"]
    async with httpx.AsyncClient(base_url=api) as http:
        assert (await http.get("/health")).json()["status"] == "ok"
        assert "/user/token" in (await http.get("/openapi.json")).json()["paths"]
        assert (await http.get("/sources")).status_code == 401
    for name in ("api-secret", "secrets-key"):  # the worker and the API share the latter
        secret = up_stack.data_dir / name
        assert secret.stat().st_mode & 0o777 == 0o600
        assert len(secret.read_text()) >= 32


async def test_tracked_event_is_searchable_within_five_seconds(up_stack: UpStack) -> None:
    info = up_stack.info
    alias = events_alias("hw", info["tenant"], info["env"])
    async with httpx.AsyncClient() as http:
        sent = time.monotonic()
        response = await http.post(
            f"{info['collector']}/track",
            json={
                "source": {"id": info["source_id"]},
                "events": [{"type": "page-view", "properties": {"url": "/e2e"}}],
            },
        )
        assert response.status_code == 200
        answer = response.json()
        event_id = answer["events"][0]

        async def stored() -> dict | None:
            found = await http.get(f"{info['search']}/{alias}/_doc/{event_id}")
            if found.status_code == 404:  # alias lookups of a single doc: use search
                hits = await http.post(
                    f"{info['search']}/{alias}/_search",
                    json={"query": {"ids": {"values": [event_id]}}},
                )
                docs = hits.json()["hits"]["hits"]
                return docs[0]["_source"] if docs else None
            return found.json().get("_source")

        document = await eventually(stored, timeout=5, every=0.05)
        elapsed = time.monotonic() - sent
    assert document["profile"]["id"] == answer["profile"]["id"]
    assert document["properties"] == {"url": "/e2e"}
    assert elapsed < 5


async def test_collect_webhook_is_searchable(up_stack: UpStack) -> None:
    info = up_stack.info
    alias = events_alias("hw", info["tenant"], info["env"])
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{info['collector']}/collect/order-paid/{info['source_id']}", json={"total": 99}
        )
        assert response.status_code == 200
        event_id = response.json()["events"][0]

        async def stored() -> list | None:
            hits = await http.post(
                f"{info['search']}/{alias}/_search",
                json={"query": {"ids": {"values": [event_id]}}},
            )
            return hits.json()["hits"]["hits"] or None

        hits = await eventually(stored, timeout=15)
    assert hits[0]["_source"]["type"] == "order-paid"
    assert hits[0]["_source"]["metadata"]["profile_less"] is True


async def test_the_collector_opens_signing_secrets_with_the_local_key(up_stack: UpStack) -> None:
    """``up`` gives its collector the secrets key (``<data dir>/secrets-key``) the API
    seals signing secrets with: a signed source's request is checked, not answered 503."""
    info, secret, source_id = up_stack.info, "github-secret-0123456789", str(uuid.uuid4())
    key = (up_stack.data_dir / "secrets-key").read_text()
    settings = load_settings(kafka=info["kafka"], topic_prefix="hw")  # up's prefix
    producer = AckedProducer(settings)
    try:
        await producer.start(wait=10)
        await ConfigPublisher(settings, AvroCodec.default(), producer).publish(
            kind=SOURCE_KIND,
            tenant=info["tenant"],
            env=info["env"],
            entity_id=source_id,
            data={
                "channels": ["collect"],
                "signature": {"preset": "github"},
                "signing_secrets": [{"id": "ss_1", "sealed": SecretBox(key).seal(secret)}],
            },
            version=1,
            updated_by="test",
        )
    finally:
        await producer.stop()
    data = b'{"zen": "Keep it logically awesome."}'
    digest = hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()
    headers = {"x-hub-signature-256": f"sha256={digest}", "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=info["collector"]) as http:

        async def answered() -> httpx.Response | None:
            got = await http.post(f"/collect/push/{source_id}", content=data, headers=headers)
            return got if got.status_code != 401 else None  # until it has read the source

        answer = await eventually(answered, timeout=15)
    assert answer.status_code == 200, answer.text  # 503 without the key


def test_sigterm_stops_every_process(up_stack: UpStack) -> None:
    collector_port = int(up_stack.info["collector"].rsplit(":", 1)[1])
    up_stack.process.send_signal(signal.SIGTERM)
    assert up_stack.process.wait(60) == 0
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", collector_port), 1):
        pass
