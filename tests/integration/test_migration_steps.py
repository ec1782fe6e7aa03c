"""Migration steps on the real broker and search engine, one by one: what each finds
needed on an installation, and that applying it leaves nothing needed."""

from __future__ import annotations

import asyncio
import copy
import json
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastavro import schemaless_writer

from headwater.adapters.search import connect_search
from headwater.agents import migrations
from headwater.agents.migrations.base import INSTALLATION, MIGRATION_KIND, Installation
from headwater.agents.migrations.config import RewriteOldConfigRecords
from headwater.agents.migrations.topics import ConfigureTopics
from headwater.commands.init import run_init
from headwater.core.config import config_key
from headwater.core.tenancy import tenant_key
from headwater.schemas import (
    CONFIG_RECORD,
    SchemaVersion,
    load_version,
    schema_family,
    schema_names,
)
from headwater.streams.codec import MAGIC, AvroCodec
from headwater.streams.config_log import ConfigLog, ConfigPublisher, encode_entry
from headwater.streams.kafka import AckedProducer, partitions_of
from headwater.streams.topic_admin import existing_topics, set_topic_configs, topic_configs
from headwater.streams.topics import Topics
from tests.support.polling import eventually
from tests.support.services import Endpoints, settings_for

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_asking_for_a_missing_topics_partitions_does_not_create_it(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    # Apache Kafka creates a topic a metadata request names (auto.create.topics.enable),
    # with the broker's defaults: a config topic made that way is not compacted
    settings = settings_for(endpoints, tmp_path)
    missing = Topics(settings.topic_prefix).config

    assert await partitions_of(settings, missing) == []
    await asyncio.sleep(3)  # the broker answers "unknown topic" and creates it meanwhile
    assert missing not in await existing_topics(settings)


async def test_topic_configs_are_set_and_what_else_is_set_stays(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path)
    await run_init(settings)
    profiles = Topics(settings.topic_prefix).profiles
    await set_topic_configs(
        settings, profiles, {"cleanup.policy": "delete", "segment.ms": "3600000"}
    )
    async with migrations.open_installation(settings, node_class=endpoints.es_node_class) as inst:
        step = ConfigureTopics()
        assert await step.needs(inst) == [f"set {profiles}, cleanup.policy=compact"]

        await step.apply(inst)

        assert await step.needs(inst) == []
    configs = (await topic_configs(settings, [profiles]))[profiles]
    assert configs["cleanup.policy"] == "compact" and configs["segment.ms"] == "3600000"


def _codec_with_an_older_config_record(tmp_path: Path) -> tuple[AvroCodec, SchemaVersion]:
    """This release's codec plus a config_record version before it (one without
    ``deleted``), as a release that still reads such records has it in its history."""
    raw: dict[str, Any] = copy.deepcopy(schema_family(CONFIG_RECORD)[-1].raw)
    raw["fields"] = [f for f in raw["fields"] if f["name"] != "deleted"]
    path = tmp_path / "1.avsc"
    path.write_text(json.dumps(raw))
    older = load_version(CONFIG_RECORD, 1, path)
    families = {name: schema_family(name) for name in schema_names()}
    families[CONFIG_RECORD] = (older, *families[CONFIG_RECORD])
    return AvroCodec(families), older


async def test_config_records_of_an_older_schema_version_are_written_anew(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path)
    await run_init(settings)
    codec, older = _codec_with_an_older_config_record(tmp_path)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    config = ConfigLog(settings, codec)
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    try:
        await config.start(wait=30)
        tenant = config.get(tenant_key(settings.default_tenant))
        assert tenant is not None
        record = {
            k: v
            for k, v in decode_record(codec, encode_entry(codec, tenant)).items()
            if k != "deleted"
        }
        body = BytesIO()
        schemaless_writer(body, older.parsed, record)
        topic = Topics(settings.topic_prefix).config
        await producer.send(topic, MAGIC + older.fingerprint + body.getvalue(), tenant.key.encode())
        inst = Installation(
            settings=settings,
            config=config,
            publisher=ConfigPublisher(settings, codec, producer),
            store=store,
            producer=producer,
            codec=codec,
        )
        step = RewriteOldConfigRecords()

        async def needs() -> list[str]:
            return await step.needs(inst)

        assert await eventually(needs, timeout=15) == [
            "rewrite 1 tenant entries written with an older config_record version"
        ]
        await step.apply(inst)

        assert await step.needs(inst) == []
        assert config.get(tenant.key) == tenant  # the same entity, the same version
    finally:
        await config.stop()
        await producer.stop()
        await store.close()


def decode_record(codec: AvroCodec, value: bytes) -> dict[str, Any]:
    return codec.decode(CONFIG_RECORD, value)


async def test_a_step_whose_run_was_killed_before_it_was_recorded_is_recorded(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path)
    await run_init(settings)
    async with migrations.open_installation(settings, node_class=endpoints.es_node_class) as inst:
        # what a run killed between the step's work and its record leaves
        await inst.publisher.publish(
            kind=MIGRATION_KIND,
            tenant=INSTALLATION,
            env=None,
            entity_id="topics",
            data={"state": "applying", "release": "0.1.0", "changes": ["create topic x"]},
            version=1,
            updated_by="headwater migrate",
        )
        key = config_key(MIGRATION_KIND, INSTALLATION, None, "topics")
        await inst.config.wait_for(key, 1)

        assert await migrations.apply(inst) == []  # nothing needed: init made it all

        await inst.config.wait_for(key, 2)
        states = {s.id: s.state for s in await migrations.status(inst)}
    assert states["topics"] == "applied"
    assert states["search-reindex"] == "never"
