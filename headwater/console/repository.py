"""Tenant-scoped access to configuration: with ``tenant_data.py``, the one place tenant
isolation lives.

A repository is built from the caller's credentials (see ``console/auth.py``) with the
tenant fixed; every key it reads or writes and every index it searches is derived from
that tenant. No id, path or header a caller sends can name another tenant's entity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from headwater.console.context import other, see_other
from headwater.core.config import ConfigEntry, config_key
from headwater.errors import Conflict, NotFound
from headwater.streams.config_log import ConfigLog, ConfigPublisher

__all__ = ["EnvOwned", "TenantConfig", "previous_kind"]


def previous_kind(kind: str) -> str:
    """The kind under which the version replaced by a deploy is kept, for rollback."""
    return f"{kind}.previous"


@dataclass(frozen=True)
class TenantConfig:
    config: ConfigLog
    publisher: ConfigPublisher
    tenant: str
    actor: str  # who changes things: recorded as updated_by

    def _key(self, kind: str, env: str | None, entity_id: str) -> str:
        return config_key(kind, self.tenant, env, entity_id)

    def list(self, kind: str, env: str | None) -> list[ConfigEntry]:
        found = [
            e
            for e in self.config.entries(kind)
            if e.tenant == self.tenant and e.env == env and not e.deleted
        ]
        return sorted(found, key=lambda e: e.id)

    def find(self, kind: str, env: str | None, entity_id: str) -> ConfigEntry | None:
        return self.config.get(self._key(kind, env, entity_id))

    def get(self, kind: str, env: str | None, entity_id: str) -> ConfigEntry:
        entry = self.find(kind, env, entity_id)
        if entry is None:
            if env is None:
                raise NotFound(f"no {kind} {entity_id}")
            there = self.find(kind, other(env), entity_id)
            hint = f"; {see_other(other(env), 'it')}" if there and not there.deleted else ""
            raise NotFound(f"no {kind} {entity_id} in {env}{hint}")
        return entry

    async def put(
        self,
        kind: str,
        env: str | None,
        entity_id: str,
        data: dict[str, Any],
        *,
        expected_version: int | None = None,
    ) -> ConfigEntry:
        """Write the next version and wait until this process reads it back."""
        current = self.find(kind, env, entity_id)
        version = 1 if current is None else current.version + 1
        if expected_version is not None and (current.version if current else 0) != expected_version:
            raise Conflict(f"{kind} {entity_id} changed meanwhile (now at {version - 1})")
        await self.publisher.publish(
            kind=kind,
            tenant=self.tenant,
            env=env,
            entity_id=entity_id,
            data=data,
            version=version,
            updated_by=self.actor,
        )
        return await self.config.wait_for(self._key(kind, env, entity_id), version)

    async def delete(self, kind: str, env: str | None, entity_id: str) -> ConfigEntry:
        current = self.get(kind, env, entity_id)
        await self.publisher.publish(
            kind=kind,
            tenant=self.tenant,
            env=env,
            entity_id=entity_id,
            data=current.data,
            version=current.version + 1,
            updated_by=self.actor,
            deleted=True,
        )
        await self.config.wait_gone(current.key)
        return current

    async def deploy(
        self, kind: str, entity_id: str, *, env_owned: EnvOwned | None = None
    ) -> ConfigEntry:
        """Copy the staging definition to production as a new version; the production
        version it replaces is kept for :meth:`rollback`. Fields ``env_owned`` names
        (write keys) belong to each environment and are never copied across."""
        staged = self.get(kind, "staging", entity_id)
        live = self.find(kind, "production", entity_id)
        if live is not None:
            await self.put(previous_kind(kind), "production", entity_id, _snapshot(live))
        data = dict(staged.data)
        if env_owned is not None:
            data = env_owned.carry(data, live.data if live is not None else None)
        return await self.put(kind, "production", entity_id, data)

    async def rollback(
        self, kind: str, entity_id: str, *, env_owned: EnvOwned | None = None
    ) -> ConfigEntry:
        """Put the production version a deploy replaced back, as a new version."""
        kept = self.find(previous_kind(kind), "production", entity_id)
        if kept is None:
            raise NotFound(f"no earlier production version of {kind} {entity_id}")
        live = self.find(kind, "production", entity_id)
        if live is not None:
            await self.put(previous_kind(kind), "production", entity_id, _snapshot(live))
        data = dict(kept.data["data"])
        if env_owned is not None:
            data = env_owned.carry(data, live.data if live is not None else None)
        return await self.put(kind, "production", entity_id, data)


@dataclass(frozen=True)
class EnvOwned:
    """Fields of a kind that each environment keeps for itself across deploys and
    rollbacks (a source's write keys): taken from the current production version, or
    made fresh by ``fresh`` when there is none."""

    fields: tuple[str, ...]
    fresh: Callable[[], dict[str, Any]]

    def carry(self, data: dict[str, Any], live: dict[str, Any] | None) -> dict[str, Any]:
        kept = {f: live[f] for f in self.fields if f in live} if live is not None else None
        others = {k: v for k, v in data.items() if k not in self.fields}
        return {**others, **(kept if kept is not None else self.fresh())}


def _snapshot(entry: ConfigEntry) -> dict[str, Any]:
    return {
        "data": entry.data,
        "version": entry.version,
        "updated_at": entry.updated_at.isoformat(),
        "updated_by": entry.updated_by,
    }
