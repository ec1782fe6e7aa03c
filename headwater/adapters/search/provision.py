"""Index templates and aliases for a tenant's environments; safe to run any number of times."""

from __future__ import annotations

from datetime import UTC, datetime

from headwater.adapters.search.templates import (
    events_template,
    merges_template,
    profiles_template,
    sessions_template,
)
from headwater.core.ports.search import SearchStore
from headwater.core.tenancy import (
    ENVIRONMENTS,
    events_alias,
    events_index,
    generation_index,
    merges_alias,
    profiles_alias,
    sessions_alias,
)
from headwater.settings import Settings

__all__ = ["drop_tenant_indices", "provision_events"]


async def provision_events(
    store: SearchStore,
    settings: Settings,
    tenant: str,
    env: str,
    *,
    generation: int = 1,
    aliased: bool = True,
) -> str:
    """Put the events, profiles and sessions templates and create the indices of one
    generation, behind their aliases when ``aliased`` (the live generation) so every
    alias exists before the first write. A replay provisions the next generation
    without aliases and moves them when it is done. Returns the events alias."""
    prefix = settings.index_prefix
    alias = events_alias(prefix, tenant, env)
    template = events_template(
        prefix=prefix,
        tenant=tenant,
        env=env,
        engine=store.engine,
        shards=settings.index_shards,
        replicas=settings.index_replicas,
    )
    await store.put_index_template(alias, template)
    now = datetime.now(UTC)
    await store.ensure_index(
        events_index(prefix, tenant, env, now, generation), alias if aliased else None
    )
    families = [
        (profiles_alias(prefix, tenant, env), profiles_template),
        (sessions_alias(prefix, tenant, env), sessions_template),
    ]
    if generation == 1:  # the merge log is not rebuilt by a replay
        families.append((merges_alias(prefix, tenant, env), merges_template))
    for other, build in families:
        body = build(
            alias=other,
            engine=store.engine,
            shards=settings.index_shards,
            replicas=settings.index_replicas,
        )
        await store.put_index_template(other, body)
        await store.ensure_index(generation_index(other, generation), other if aliased else None)
    return alias


async def drop_tenant_indices(store: SearchStore, prefix: str, tenant: str) -> list[str]:
    """Delete every index (all generations) and template of a tenant; returns the
    indices deleted. Tenant ids have no dashes, so ``<prefix>-<tenant>-<env>-*`` never
    matches another tenant's names."""
    dropped: list[str] = []
    for env in ENVIRONMENTS:
        names = await store.list_indices(f"{prefix}-{tenant}-{env}-*")
        await store.delete_indices(names)
        dropped += names
        for alias in (events_alias, profiles_alias, sessions_alias, merges_alias):
            await store.delete_index_template(alias(prefix, tenant, env))
    return dropped
