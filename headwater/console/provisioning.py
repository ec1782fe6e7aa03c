"""Creating a tenant: indices, tenant record, admin user, default event sources.

One idempotent step, used by the TMS routes and by ``headwater init``: it reads what
exists and writes only what is missing, so running it twice changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from headwater.adapters.search.provision import provision_events
from headwater.core.access import Role
from headwater.core.accounts import USER_KIND, new_user_id, normalise_email, users_with_email
from headwater.core.config import ConfigEntry, config_key
from headwater.core.ports.search import SearchStore
from headwater.core.sources import DEFAULT_CHANNELS, DEFAULT_MARK, SOURCE_KIND, new_source_id
from headwater.core.tenancy import ENVIRONMENTS, TENANT_KIND, check_tenant_id
from headwater.settings import Settings
from headwater.streams.config_log import ConfigLog, ConfigPublisher

__all__ = [
    "AdminAccount",
    "DefaultSources",
    "ProvisionResult",
    "ensure_default_sources",
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
    # env -> write key of a default source made by this call: shown once, never in a repr
    new_write_keys: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass
class DefaultSources:
    """A tenant's default source per environment, found or made."""

    entries: dict[str, ConfigEntry] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)  # config keys made by this call

    @property
    def ids(self) -> dict[str, str]:
        return {env: entry.id for env, entry in self.entries.items()}

    def write_keys(self, *, made_only: bool = False) -> dict[str, str]:
        """env -> the first live write key of the default source (of the made ones only)."""
        keys: dict[str, str] = {}
        for env, entry in self.entries.items():
            if made_only and entry.key not in self.written:
                continue
            live = [k["key"] for k in entry.data.get("write_keys", []) if not k.get("revoked")]
            if live:
                keys[env] = live[0]
        return keys


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


def _default_source(config: ConfigLog, tenant: str, env: str) -> ConfigEntry | None:
    found = [
        e
        for e in config.entries(SOURCE_KIND)
        if e.tenant == tenant and e.env == env and e.data.get(DEFAULT_MARK)
    ]
    return min(found, key=lambda e: e.id) if found else None


async def ensure_default_sources(
    config: ConfigLog, publisher: ConfigPublisher, tenant: str, by: str
) -> DefaultSources:
    """The tenant's default source in each environment: the one made before (marked
    ``default``) or a new one with a random id and a random write key."""
    result = DefaultSources()
    for env in ENVIRONMENTS:
        entry = _default_source(config, tenant, env)
        if entry is None:
            data: dict[str, Any] = {
                "name": "Default source",
                "type": "rest",
                "enabled": True,
                "channels": list(DEFAULT_CHANNELS),
                DEFAULT_MARK: True,
                "write_keys": [new_write_key()],
            }
            source_id = new_source_id()
            await ensure_entity(
                config,
                publisher,
                kind=SOURCE_KIND,
                tenant=tenant,
                env=env,
                entity_id=source_id,
                data=data,
                by=by,
            )
            entry = config.get(config_key(SOURCE_KIND, tenant, env, source_id))
            assert entry is not None  # ensure_entity waited until it was read back
            result.written.append(entry.key)
        result.entries[env] = entry
    return result


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
    sources = await ensure_default_sources(config, publisher, tenant, by)
    result.sources = sources.ids
    result.written.extend(sources.written)
    result.new_write_keys = sources.write_keys(made_only=True)
    return result
