"""Tenant-scoped access to configuration and data: the one place tenant isolation lives.

A repository is built from the caller's credentials (see ``console/auth.py``) with the
tenant fixed; every key it reads or writes and every index it searches is derived from
that tenant. No id, path or header a caller sends can name another tenant's entity.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from headwater.core.config import ConfigEntry, config_key
from headwater.core.tenancy import events_alias, profiles_alias, sessions_alias
from headwater.errors import Conflict, InvalidInput, NotFound
from headwater.infra.search import SearchStore
from headwater.streams.config_log import ConfigLog, ConfigPublisher

__all__ = ["DataFamily", "Page", "TenantConfig", "TenantData", "previous_kind"]

DataFamily = Literal["events", "profiles", "sessions"]


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
            raise NotFound(f"no {kind} {entity_id}")
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

    async def deploy(self, kind: str, entity_id: str) -> ConfigEntry:
        """Copy the staging definition to production as a new version; the production
        version it replaces is kept for :meth:`rollback`."""
        staged = self.get(kind, "staging", entity_id)
        live = self.find(kind, "production", entity_id)
        if live is not None:
            await self.put(previous_kind(kind), "production", entity_id, _snapshot(live))
        return await self.put(kind, "production", entity_id, dict(staged.data))

    async def rollback(self, kind: str, entity_id: str) -> ConfigEntry:
        """Put the production version a deploy replaced back, as a new version."""
        kept = self.find(previous_kind(kind), "production", entity_id)
        if kept is None:
            raise NotFound(f"no earlier production version of {kind} {entity_id}")
        live = self.find(kind, "production", entity_id)
        if live is not None:
            await self.put(previous_kind(kind), "production", entity_id, _snapshot(live))
        return await self.put(kind, "production", entity_id, dict(kept.data["data"]))


def _snapshot(entry: ConfigEntry) -> dict[str, Any]:
    return {
        "data": entry.data,
        "version": entry.version,
        "updated_at": entry.updated_at.isoformat(),
        "updated_by": entry.updated_by,
    }


# --- data in the search engine -------------------------------------------------------

_ALIASES = {"events": events_alias, "profiles": profiles_alias, "sessions": sessions_alias}
# Fields a caller may filter and sort on, per family; anything else is refused (422),
# which also keeps free-form input out of the query.
FILTERS: dict[DataFamily, dict[str, str]] = {
    "events": {
        "type": "type",
        "profile_id": "profile.id",
        "session_id": "session.id",
        "source_id": "source.id",
    },
    "profiles": {"id": "id", "segment": "segments"},
    "sessions": {"profile_id": "profile.id", "id": "id"},
}
_SORTS: dict[DataFamily, list[dict[str, str]]] = {
    "events": [{"time.insert": "desc"}, {"id": "asc"}],
    "profiles": [{"id": "asc"}],
    "sessions": [{"start": "desc"}, {"id": "asc"}],
}


@dataclass(frozen=True)
class Page:
    total: int
    items: list[dict[str, Any]]
    next: str | None  # cursor for the next page (search_after), None on the last


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode()


def decode_cursor(cursor: str) -> list[Any]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidInput("invalid paging cursor", field="after") from exc
    if not isinstance(values, list):
        raise InvalidInput("invalid paging cursor", field="after")
    return values


@dataclass(frozen=True)
class TenantData:
    store: SearchStore
    index_prefix: str
    tenant: str

    def alias(self, family: DataFamily, env: str) -> str:
        return _ALIASES[family](self.index_prefix, self.tenant, env)

    def _query(self, family: DataFamily, filters: dict[str, str]) -> dict[str, Any]:
        # The tenant term is redundant with the alias, and kept on purpose: a document
        # written to the wrong index by a bug still never crosses tenants.
        terms: list[dict[str, Any]] = [{"term": {"tenant": self.tenant}}]
        for name, value in filters.items():
            field = FILTERS[family].get(name)
            if field is None:
                raise InvalidInput(f"cannot filter {family} by {name}", field=name)
            terms.append({"term": {field: value}})
        return {"bool": {"filter": terms}}

    async def search(
        self,
        family: DataFamily,
        env: str,
        filters: dict[str, str],
        *,
        size: int,
        after: str | None,
    ) -> Page:
        response = await self.store.search(
            self.alias(family, env),
            query=self._query(family, filters),
            size=size,
            sort=_SORTS[family],
            search_after=decode_cursor(after) if after else None,
        )
        hits = response.get("hits", {})
        found = hits.get("hits", [])
        total = hits.get("total", 0)
        items = [hit["_source"] for hit in found]
        last_sort = found[-1].get("sort") if len(found) == size else None
        return Page(
            total=int(total["value"] if isinstance(total, dict) else total),
            items=items,
            next=encode_cursor(last_sort) if last_sort else None,
        )

    async def get(self, family: DataFamily, env: str, doc_id: str) -> dict[str, Any]:
        tenant_and_id = [{"term": {"tenant": self.tenant}}, {"ids": {"values": [doc_id]}}]
        response = await self.store.search(
            self.alias(family, env), query={"bool": {"filter": tenant_and_id}}, size=1
        )
        found = response.get("hits", {}).get("hits", [])
        if not found:
            raise NotFound(f"no {family[:-1]} {doc_id}")
        return dict(found[0]["_source"])
