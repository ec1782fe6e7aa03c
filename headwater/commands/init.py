"""``headwater init``: topics, index templates, the default tenant and event sources.

Idempotent: it reads what exists first and only adds what is missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from headwater.adapters.search import connect_search
from headwater.adapters.search.provision import provision_events
from headwater.commands.admin import ensure_admin
from headwater.console.provisioning import ensure_default_sources, ensure_entity
from headwater.core.config import config_key
from headwater.core.sources import SOURCE_KIND, legacy_default_source_id
from headwater.core.tenancy import ENVIRONMENTS, TENANT_KIND, check_tenant_id
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
    # sources an older init made with ids anyone can compute: to be retired
    computable_sources: list[str] = field(default_factory=list)


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
        if await ensure_entity(
            config,
            publisher,
            kind=TENANT_KIND,
            tenant=tenant,
            env=None,
            entity_id=tenant,
            data={"name": "Default tenant", "status": "active"},
            by="init",
        ):
            result.config_written.append(config_key(TENANT_KIND, tenant, None, tenant))
        # random ids and write keys, found again (not made again) on the next run
        sources = await ensure_default_sources(config, publisher, tenant, "init")
        result.sources = sources.ids
        result.write_keys = sources.write_keys()
        result.config_written.extend(sources.written)
        for env in ENVIRONMENTS:
            legacy = config_key(SOURCE_KIND, tenant, env, legacy_default_source_id(tenant, env))
            entry = config.get(legacy)
            if entry is not None and entry.data.get("enabled", True):
                result.computable_sources.append(legacy)
                log.warning(
                    "event source %s (%s) has an id anyone can compute, made by an older "
                    "init: move trackers to source %s, then disable or delete it",
                    entry.id,
                    env,
                    sources.entries[env].id,
                )
        if admin_email is not None:
            written = await ensure_admin(settings, config, publisher, tenant, admin_email)
            result.admin = written.user_id
            result.config_written.extend(written.keys)
    log.info("init done: %s", result)
    return result
