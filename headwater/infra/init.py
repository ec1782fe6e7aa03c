"""``headwater init``: topics, index templates, the default tenant and event sources.

Idempotent: it reads what exists first and only adds what is missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from headwater.core.config import config_key
from headwater.core.sources import (
    DEFAULT_CHANNELS,
    SOURCE_KIND,
    default_source_id,
    default_write_key,
)
from headwater.core.tenancy import ENVIRONMENTS, TENANT_KIND, check_tenant_id
from headwater.infra.admin import ensure_admin
from headwater.infra.search import connect_search
from headwater.infra.search.provision import provision_events
from headwater.settings import Settings
from headwater.streams.config_log import open_config
from headwater.streams.kafka import ensure_topics
from headwater.streams.topics import Topics

__all__ = ["InitResult", "run_init"]

log = logging.getLogger(__name__)


@dataclass
class InitResult:
    tenant: str
    sources: dict[str, str]
    # env -> the default source's write key: printed for the operator, never in a repr
    write_keys: dict[str, str] = field(default_factory=dict, repr=False)
    topics_created: list[str] = field(default_factory=list)
    config_written: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    admin: str | None = None  # user id of the admin made by --admin-email


async def run_init(settings: Settings, *, admin_email: str | None = None) -> InitResult:
    tenant = check_tenant_id(settings.default_tenant)
    result = InitResult(tenant=tenant, sources={})
    topics = Topics(settings.topic_prefix)
    result.topics_created = await ensure_topics(settings, topics.specs(settings.partitions))

    store = await connect_search(settings)
    try:
        for env in ENVIRONMENTS:
            result.aliases.append(await provision_events(store, settings, tenant, env))
    finally:
        await store.close()

    async with open_config(settings) as (config, publisher):
        wanted: list[tuple[str, str | None, str, dict[str, Any]]] = [
            (TENANT_KIND, None, tenant, {"name": "Default tenant", "status": "active"})
        ]
        for env in ENVIRONMENTS:
            source_id = default_source_id(tenant, env)
            result.sources[env] = source_id
            write_key = default_write_key(tenant, env)
            result.write_keys[env] = write_key
            source: dict[str, Any] = {
                "name": "Default source",
                "type": "rest",
                "enabled": True,
                "channels": list(DEFAULT_CHANNELS),
                "write_keys": [{"key": write_key, "name": "default"}],
            }
            wanted.append((SOURCE_KIND, env, source_id, source))
        for kind, entity_env, entity_id, data in wanted:
            key = config_key(kind, tenant, entity_env, entity_id)
            if config.get(key) is not None:
                continue
            await publisher.publish(
                kind=kind,
                tenant=tenant,
                env=entity_env,
                entity_id=entity_id,
                data=data,
                version=1,
                updated_by="init",
            )
            await config.wait_for(key, 1)
            result.config_written.append(key)
        if admin_email is not None:
            written = await ensure_admin(settings, config, publisher, tenant, admin_email)
            result.admin = written.user_id
            result.config_written.extend(written.keys)
    log.info("init done: %s", result)
    return result
