"""Creating a tenant: indices, tenant record, admin user, default event sources.

One idempotent step, used by the TMS routes and by ``headwater init``: it reads what
exists and writes only what is missing, so running it twice changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from headwater.core.access import Role
from headwater.core.accounts import USER_KIND, new_user_id, normalise_email, users_with_email
from headwater.core.config import config_key
from headwater.core.sources import DEFAULT_CHANNELS, SOURCE_KIND, default_source_id
from headwater.core.tenancy import ENVIRONMENTS, TENANT_KIND, check_tenant_id
from headwater.infra.search import SearchStore
from headwater.infra.search.provision import provision_events
from headwater.settings import Settings
from headwater.streams.config_log import ConfigLog, ConfigPublisher

__all__ = [
    "AdminAccount",
    "ProvisionResult",
    "ensure_entity",
    "new_write_key",
    "provision_tenant",
]


@dataclass(frozen=True)
class AdminAccount:
    email: str
    password_hash: str = field(repr=False)


@dataclass
class ProvisionResult:
    tenant: str
    admin_id: str | None
    sources: dict[str, str]
    written: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)


async def ensure_entity(
    config: ConfigLog,
    publisher: ConfigPublisher,
    *,
    kind: str,
    tenant: str,
    env: str | None,
    entity_id: str,
    data: dict[str, Any],
    by: str,
) -> bool:
    """Write version 1 of an entity unless it exists; True when written."""
    key = config_key(kind, tenant, env, entity_id)
    if config.get(key) is not None:
        return False
    await publisher.publish(
        kind=kind, tenant=tenant, env=env, entity_id=entity_id, data=data, version=1, updated_by=by
    )
    await config.wait_for(key, 1)
    return True


def new_write_key(name: str = "default") -> dict[str, Any]:
    """A random write key. Keys are issued by the server only: the collector finds a
    source by its key across tenants, so a caller must never choose one."""
    return {"key": f"hw_{secrets.token_hex(16)}", "name": name, "revoked": False}


def admin_entity(admin: AdminAccount) -> tuple[str, dict[str, Any]]:
    """A new admin user: a random id and its data."""
    email = normalise_email(admin.email)
    data = {"email": email, "role": Role.ADMIN.value, "password_hash": admin.password_hash}
    return new_user_id(), data


async def provision_tenant(
    *,
    settings: Settings,
    store: SearchStore,
    config: ConfigLog,
    publisher: ConfigPublisher,
    tenant: str,
    name: str,
    admin: AdminAccount | None,
    by: str,
) -> ProvisionResult:
    check_tenant_id(tenant)
    result = ProvisionResult(tenant=tenant, admin_id=None, sources={})
    for alias_env in ENVIRONMENTS:
        result.aliases.append(await provision_events(store, settings, tenant, alias_env))
    wanted: list[tuple[str, str | None, str, dict[str, Any]]] = [
        (TENANT_KIND, None, tenant, {"name": name, "status": "active"})
    ]
    if admin is not None:
        has_users = any(e.tenant == tenant for e in config.entries(USER_KIND))
        if not has_users:  # a repeated call never adds a second admin
            admin_id, data = admin_entity(admin)
            wanted.append((USER_KIND, None, admin_id, data))
            result.admin_id = admin_id
        else:
            email = normalise_email(admin.email)
            existing = users_with_email(config.entries(USER_KIND), email, tenant)
            result.admin_id = existing[0].id if existing else None
    for source_env in ENVIRONMENTS:
        source_id = default_source_id(tenant, source_env)
        result.sources[source_env] = source_id
        source: dict[str, Any] = {"name": "Default source", "type": "rest", "enabled": True}
        source["channels"] = list(DEFAULT_CHANNELS)
        # random, unlike init's deterministic local key: a tenant's keys are secrets
        source["write_keys"] = [new_write_key()]
        wanted.append((SOURCE_KIND, source_env, source_id, source))
    for kind, env, entity_id, data in wanted:
        written = await ensure_entity(
            config,
            publisher,
            kind=kind,
            tenant=tenant,
            env=env,
            entity_id=entity_id,
            data=data,
            by=by,
        )
        if written:
            result.written.append(config_key(kind, tenant, env, entity_id))
    return result
