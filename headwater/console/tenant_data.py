"""Tenant-scoped access to the search engine: the caller's tenant picks the aliases, and
every query also filters on the tenant field.

Reads follow merges. Events and sessions stay stored under the profile that applied
them; a profile merged away keeps its document, with ``merged_into`` naming the survivor
(chains collapse, so it names the last one). Asking for a profile's events or sessions
therefore asks for those of the profile and of every profile merged into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from headwater.console.context import other, see_other
from headwater.core.data_query import (
    DataFamily,
    decode_cursor,
    encode_cursor,
    filter_query,
    sort_clause,
)
from headwater.core.ports.search import SearchStore
from headwater.core.tenancy import events_alias, profiles_alias, sessions_alias
from headwater.errors import NotFound, SearchRejected

__all__ = ["DataFamily", "EventStats", "Interval", "Page", "TenantData"]

Interval = Literal["hour", "day", "week", "month"]


@dataclass(frozen=True)
class EventStats:
    total: int
    by_type: list[tuple[str, int]]
    over_time: list[tuple[str, int]]  # (bucket start, ISO 8601 UTC; count)


# profiles merged into one survivor, at most (merge-settings ``max_merges`` is far lower)
MERGED_LIMIT = 10_000

_ALIASES = {"events": events_alias, "profiles": profiles_alias, "sessions": sessions_alias}


@dataclass(frozen=True)
class Page:
    total: int
    items: list[dict[str, Any]]
    next: str | None  # cursor for the next page (search_after), None on the last


@dataclass(frozen=True)
class TenantData:
    store: SearchStore
    index_prefix: str
    tenant: str

    def alias(self, family: DataFamily, env: str) -> str:
        return _ALIASES[family](self.index_prefix, self.tenant, env)

    async def search(
        self,
        family: DataFamily,
        env: str,
        filters: dict[str, str],
        *,
        size: int,
        after: str | None,
        sort: str | None = None,
        where: dict[str, Any] | None = None,
    ) -> Page:
        """``where``: one more query clause every hit must match (a segment's)."""
        order = sort_clause(family, sort)
        wanted: dict[str, str | list[str]] = dict(filters)
        if family != "profiles" and "profile_id" in filters:
            wanted["profile_id"] = await self.merged_ids(env, filters["profile_id"])
        query = filter_query(self.tenant, family, wanted)
        if where is not None:
            query["bool"]["filter"].append(where)
        response = await self.store.search(
            self.alias(family, env),
            query=query,
            size=size,
            sort=order,
            search_after=decode_cursor(after, order) if after else None,
        )
        hits = response.get("hits", {})
        found = hits.get("hits", [])
        total = hits.get("total", 0)
        items = [hit["_source"] for hit in found]
        last_sort = found[-1].get("sort") if len(found) == size else None
        return Page(
            total=int(total["value"] if isinstance(total, dict) else total),
            items=items,
            next=encode_cursor(order, last_sort) if last_sort else None,
        )

    async def get(self, family: DataFamily, env: str, doc_id: str) -> dict[str, Any]:
        tenant_and_id = [{"term": {"tenant": self.tenant}}, {"ids": {"values": [doc_id]}}]
        response = await self.store.search(
            self.alias(family, env), query={"bool": {"filter": tenant_and_id}}, size=1
        )
        found = response.get("hits", {}).get("hits", [])
        if not found:
            there = await self._in_other(family, env, {"bool": {"filter": tenant_and_id}})
            hint = f"; {see_other(other(env), 'it')}" if there else ""
            raise NotFound(f"no {family[:-1]} {doc_id} in {env}{hint}")
        return dict(found[0]["_source"])

    async def _in_other(self, family: DataFamily, env: str, query: dict[str, Any]) -> int:
        """How many documents ``query`` matches in the other context (0 without its index)."""
        try:
            return await self.store.count(self.alias(family, other(env)), query)
        except SearchRejected:
            return 0

    async def hint(self, family: DataFamily, env: str, filters: dict[str, str]) -> str | None:
        """For an empty answer in ``env``: what the other context has, and how to see it."""
        there = await self._in_other(family, env, filter_query(self.tenant, family, filters))
        if not there:
            return None
        what = f"{there} {family if there > 1 else family[:-1]}"
        # merged=false is every profile listing's default, not a filter the caller named
        named = {k: v for k, v in filters.items() if (k, v) != ("merged", "false")}
        return f"none in {env}; {see_other(other(env), what + (' that match' if named else ''))}"

    async def merged_ids(self, env: str, profile_id: str, *, fresh: bool = False) -> list[str]:
        """``profile_id`` and the id of every profile merged into it; with ``fresh``
        also those merged a moment ago (the profiles are refreshed first)."""
        if fresh:
            await self.store.refresh(self.alias("profiles", env))
        query = {
            "bool": {
                "filter": [{"term": {"tenant": self.tenant}}, {"term": {"merged_into": profile_id}}]
            }
        }
        response = await self.store.search(
            self.alias("profiles", env), query=query, size=MERGED_LIMIT, sort=[{"id": "asc"}]
        )
        found = [str(h["_source"]["id"]) for h in response.get("hits", {}).get("hits", [])]
        return [profile_id, *(i for i in found if i != profile_id)]

    async def profiles_matching(
        self, env: str, query: dict[str, Any], size: int
    ) -> tuple[int, list[str]]:
        """Profiles of this tenant (not merged away) the query matches: total and ids."""
        scoped = {
            "bool": {
                "filter": [{"term": {"tenant": self.tenant}}, query],
                "must_not": [{"exists": {"field": "merged_into"}}],
            }
        }
        response = await self.store.search(
            self.alias("profiles", env), query=scoped, size=size, sort=[{"id": "asc"}]
        )
        hits = response.get("hits", {})
        total = hits.get("total", 0)
        ids = [str(h["_source"]["id"]) for h in hits.get("hits", [])]
        return int(total["value"] if isinstance(total, dict) else total), ids

    async def forget_profile(
        self, env: str, profile_id: str, owners: list[str] | None = None
    ) -> dict[str, int]:
        """Right to be forgotten: the profile (also where it is a merged id), its events
        and its sessions and those of the profiles merged into it, from this tenant's
        indices. Counts per family. ``owners`` are ``merged_ids`` read before the forget
        operation was sent: once the worker has forgotten the profiles, the documents
        that said which were merged into it may be gone already."""
        tenant = {"term": {"tenant": self.tenant}}
        if owners is None:
            owners = await self.merged_ids(env, profile_id, fresh=True)
        owned_by = {"terms": {"profile.id": owners}}
        profile = {
            "bool": {
                "should": [
                    {"ids": {"values": [profile_id]}},
                    {"term": {"ids": profile_id}},
                    {"term": {"merged_into": profile_id}},
                ],
                "minimum_should_match": 1,
            }
        }
        deleted: dict[str, int] = {}
        matches: list[tuple[DataFamily, dict[str, Any]]] = [
            ("events", owned_by),
            ("sessions", owned_by),
            ("profiles", profile),
        ]
        for family, match in matches:
            query = {"bool": {"filter": [tenant, match]}}
            deleted[family] = await self.store.delete_by_query(self.alias(family, env), query)
        if not any(deleted.values()):
            there = await self._in_other("profiles", env, {"bool": {"filter": [tenant, profile]}})
            hint = f"; {see_other(other(env), 'it')}" if there else ""
            raise NotFound(f"no profile {profile_id} and nothing of it in {env}{hint}")
        return deleted

    async def counts(self, env: str) -> dict[str, int]:
        """Documents per family, for a dashboard; profiles merged away are not counted,
        as ``GET /profiles`` does not list them."""
        families: tuple[DataFamily, ...] = ("events", "profiles", "sessions")
        return {
            f: await self.store.count(self.alias(f, env), filter_query(self.tenant, f, {}))
            for f in families
        }

    async def event_stats(
        self, env: str, interval: Interval, since: str | None, until: str | None
    ) -> EventStats:
        """Events over time (by received time) and by type, within an optional range."""
        window: dict[str, str] = {}
        if since:
            window["gte"] = since
        if until:
            window["lt"] = until
        filters: list[dict[str, Any]] = [{"term": {"tenant": self.tenant}}]
        if window:
            filters.append({"range": {"time.insert": window}})
        aggs = {
            "over_time": {
                "date_histogram": {
                    "field": "time.insert",
                    "calendar_interval": interval,
                    "min_doc_count": 0,
                }
            },
            "by_type": {"terms": {"field": "type", "size": 50}},
        }
        found = await self.store.aggregate(
            self.alias("events", env), {"bool": {"filter": filters}}, aggs
        )
        buckets = found["aggregations"]
        return EventStats(
            total=found["total"],
            by_type=[(b["key"], b["doc_count"]) for b in buckets["by_type"]["buckets"]],
            over_time=[
                (b["key_as_string"], b["doc_count"]) for b in buckets["over_time"]["buckets"]
            ],
        )
