"""Adapter for Elasticsearch 8/9 through the official ``elasticsearch`` client."""

from __future__ import annotations

from typing import Any, cast

from elastic_transport import TransportError
from elasticsearch import ApiError, AsyncElasticsearch

from headwater.adapters.search.base import ClientStore
from headwater.core.ports.search import Engine

__all__ = ["ElasticsearchStore"]


class ElasticsearchStore(ClientStore):
    def __init__(self, client: AsyncElasticsearch, engine: Engine = "elasticsearch") -> None:
        super().__init__(client, engine)

    def _failure(self, exc: Exception) -> tuple[int | None, str] | None:
        if isinstance(exc, ApiError):
            return exc.meta.status, f"{exc.message}: {exc.body}"
        if isinstance(exc, TransportError):
            return None, str(exc)
        return None

    async def _bulk_request(self, body: bytes) -> Any:
        # the client's NDJSON serializer passes bytes through as they are
        return await self._client.bulk(operations=cast(Any, body))

    async def _create_index(self, index: str, body: dict[str, Any]) -> Any:
        return await self._client.indices.create(index=index, **body)

    async def _update_aliases(self, actions: list[dict[str, Any]]) -> Any:
        return await self._client.indices.update_aliases(actions=actions)

    async def put_index_template(self, name: str, body: dict[str, Any]) -> None:
        await self._call(
            f"put template {name}", self._client.indices.put_index_template(name=name, **body)
        )

    async def search(
        self,
        index: str,
        *,
        query: dict[str, Any] | None = None,
        size: int = 10,
        sort: list[Any] | None = None,
        search_after: list[Any] | None = None,
    ) -> dict[str, Any]:
        response = await self._call(
            f"search {index}",
            self._client.search(
                index=index,
                query=query or {"match_all": {}},
                size=size,
                sort=sort,
                search_after=search_after,
                track_total_hits=True,
            ),
        )
        return dict(response or {})

    async def count(self, index: str, query: dict[str, Any] | None = None) -> int:
        response = await self._call(
            f"count {index}", self._client.count(index=index, query=query or {"match_all": {}})
        )
        return int((response or {})["count"])

    async def _delete_by_query_request(self, index: str, query: dict[str, Any]) -> Any:
        return await self._client.delete_by_query(
            index=index, query=query, refresh=True, conflicts="proceed", slices="auto"
        )

    async def aggregate(
        self, index: str, query: dict[str, Any], aggs: dict[str, Any]
    ) -> dict[str, Any]:
        response = await self._call(
            f"aggregate {index}",
            self._client.search(index=index, query=query, aggs=aggs, size=0, track_total_hits=True),
        )
        return _totals(dict(response or {}))


def _totals(response: dict[str, Any]) -> dict[str, Any]:
    total = response.get("hits", {}).get("total", 0)
    count = total["value"] if isinstance(total, dict) else total
    return {"total": int(count), "aggregations": response.get("aggregations", {})}
