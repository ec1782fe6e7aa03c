"""``headwater init`` against the real broker and search server."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from headwater.commands.init import run_init
from headwater.core.ports.search import SearchStore
from headwater.core.sources import SOURCE_KIND
from headwater.core.tenancy import events_alias, merges_alias, profiles_alias, sessions_alias
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigLog, ConfigPublisher
from headwater.streams.kafka import AckedProducer
from headwater.streams.topics import Topics

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_init_creates_everything_once(settings: Settings, search: SearchStore) -> None:
    first = await run_init(settings)
    topics = Topics(settings.topic_prefix)
    assert sorted(first.topics_created) == sorted(
        [
            topics.intake,
            topics.events,
            topics.profiles,
            topics.profile_ops,
            topics.identity,
            topics.merges,
            topics.outbound,
            topics.config,
            topics.config_history,
            topics.deadletter,
            topics.jobs,
            topics.profile_rebuild,
        ]
    )
    assert len(first.config_written) == 3  # tenant + one source per environment
    assert set(first.sources) == {"production", "staging"}
    assert all(uuid.UUID(s).version == 4 for s in first.sources.values())  # random, not derived

    second = await run_init(settings)
    assert second.topics_created == []
    assert second.config_written == []
    assert second.sources == first.sources  # found again, not made again
    assert second.write_keys == first.write_keys

    for env in ("production", "staging"):
        for alias in (events_alias, profiles_alias, sessions_alias, merges_alias):
            assert await search.get_alias(alias(settings.index_prefix, "default", env))


async def test_init_topics_have_configured_partitions(settings: Settings) -> None:
    await run_init(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_servers)
    await admin.start()
    try:
        topics = Topics(settings.topic_prefix)
        described = await admin.describe_topics([topics.intake, topics.config])
    finally:
        await admin.close()
    partitions = {t["topic"]: len(t["partitions"]) for t in described}
    assert partitions == {topics.intake: settings.partitions, topics.config: 1}


async def test_config_log_sees_default_sources(settings: Settings) -> None:
    result = await run_init(settings)
    log = ConfigLog(settings, AvroCodec.default())
    await log.start(wait=20)
    try:
        assert log.caught_up
        source = log.source(result.sources["production"], "production")
        assert source is not None and source.enabled and source.tenant == "default"
        assert log.source(result.sources["production"], "staging") is None
    finally:
        await log.stop()


async def test_write_keys_resolve_their_source_until_revoked(settings: Settings) -> None:
    result = await run_init(settings)
    assert result.write_keys["production"] != result.write_keys["staging"]
    codec = AvroCodec.default()
    log = ConfigLog(settings, codec)
    await log.start(wait=20)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    try:
        default_key = result.write_keys["staging"]
        found = log.source_for_key(default_key)
        assert found is not None
        assert (found.id, found.tenant, found.env) == (
            result.sources["staging"],
            "default",
            "staging",
        )

        # a second source with two keys, then one of them revoked in a new version
        publisher = ConfigPublisher(settings, codec, producer)
        keys = [{"key": "mobile-key-1"}, {"key": "mobile-key-2"}]
        data = {"name": "Mobile", "write_keys": keys}
        for version, revoke in ((1, False), (2, True)):
            if revoke:
                data = {**data, "write_keys": [keys[0], {**keys[1], "revoked": True}]}
            entry = await publisher.publish(
                kind=SOURCE_KIND,
                tenant="default",
                env="production",
                entity_id="mobile",
                data=data,
                version=version,
                updated_by="test",
            )
            await log.wait_for(entry.key, version)
            if not revoke:
                assert log.source_for_key("mobile-key-2") is not None
        mobile = log.source_for_key("mobile-key-1")
        assert mobile is not None and mobile.id == "mobile"
        assert log.source_for_key("mobile-key-2") is None
        assert log.source_for_key("no-such-key-at-all") is None
    finally:
        await producer.stop()
        await log.stop()


async def test_init_names_default_sources_whose_ids_anyone_can_compute(settings: Settings) -> None:
    from headwater.core.config import config_key
    from headwater.core.sources import legacy_default_source_id

    await run_init(settings)
    codec = AvroCodec.default()
    log = ConfigLog(settings, codec)
    await log.start(wait=20)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    try:  # what an older init wrote: a source under the computable id
        legacy = legacy_default_source_id("default", "production")
        entry = await ConfigPublisher(settings, codec, producer).publish(
            kind=SOURCE_KIND,
            tenant="default",
            env="production",
            entity_id=legacy,
            data={"name": "Default source", "enabled": True},
            version=1,
            updated_by="old-init",
        )
        await log.wait_for(entry.key, 1)
    finally:
        await producer.stop()
        await log.stop()
    result = await run_init(settings)
    assert result.computable_sources == [config_key(SOURCE_KIND, "default", "production", legacy)]
    assert result.sources["production"] != legacy
