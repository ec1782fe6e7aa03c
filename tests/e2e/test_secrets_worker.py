"""A stored secret named by a flow, end to end through the real worker: the call
arrives with the value, ``hw.outbound`` holds only the placeholder."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.adapters.secrets import SecretBox
from headwater.commands.init import run_init
from headwater.core.automation import FLOW_KIND, RULE_KIND
from headwater.core.secrets import SECRET_KIND
from headwater.schemas import OUTBOUND_REQUEST
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer
from headwater.streams.topics import Topics
from tests.support.http_sink import http_sink
from tests.support.intake import Sender
from tests.support.kafka import read_topic
from tests.support.polling import eventually
from tests.support.processes import start_worker
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e

KEY = "secrets-key-for-tests-0123456789abcdef"
VALUE = "crm-token-7f3a9c1e5b2d4f60"


async def test_the_worker_sends_the_secret_a_flow_names_and_records_only_its_name(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path)
    await run_init(settings)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    publisher = ConfigPublisher(settings, AvroCodec.default(), producer)
    async with http_sink([200]) as sink:
        flow = {
            "nodes": [
                {"id": "start", "action": "start"},
                {
                    "id": "call",
                    "action": "http-call",
                    "config": {
                        "url": sink.url,
                        "headers": {"Authorization": "Bearer {{secret.crm_token}}"},
                    },
                },
            ],
            "edges": [{"from": "start", "to": "call"}],
        }
        config = [
            (SECRET_KIND, "crm_token", {"sealed": SecretBox(KEY).seal(VALUE)}),
            (FLOW_KIND, "to-crm", flow),
            (RULE_KIND, "on-signup", {"flow_id": "to-crm", "event_type": "signed-up"}),
        ]
        for kind, entity_id, data in config:
            await publisher.publish(
                kind=kind,
                tenant="default",
                env="production",
                entity_id=entity_id,
                data=data,
                version=1,
                updated_by="test",
            )
        worker = start_worker(
            settings,
            tmp_path / "worker.log",
            HEADWATER_SECRETS_KEY=KEY,
            HEADWATER_OUTBOUND_ALLOW='["127.0.0.1"]',  # the sink listens on loopback
        )
        try:
            await Sender(settings, producer).send("ann", [{"type": "signed-up"}])

            async def called() -> bool:
                return bool(sink.received)

            await eventually(called, timeout=90, every=0.5)
            requests = await read_topic(
                settings.kafka_servers,
                Topics(settings.topic_prefix).outbound,
                OUTBOUND_REQUEST,
                until=lambda records: len(records) >= 1,
                timeout=30,
            )
        finally:
            worker.stop()
            await producer.stop()

    assert sink.received[0].headers["authorization"] == f"Bearer {VALUE}"
    [request] = requests
    assert b"Bearer {{secret.crm_token}}" in request["target"]
    assert VALUE.encode() not in request["target"] + request["body"]
    assert VALUE not in (tmp_path / "worker.log").read_text()
