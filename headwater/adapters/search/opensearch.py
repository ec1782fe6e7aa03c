"""Adapter for OpenSearch and OpenSearch-compatible servers through ``opensearch-py``."""

from __future__ import annotations

from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError

from headwater.adapters.search.base import ClientStore
from headwater.core.ports.search import Engine

__all__ = ["OpenSearchStore"]


class OpenSearchStore(ClientStore):
    def __init__(self, client: AsyncOpenSearch, engine: Engine = "opensearch") -> None:
        super().__init__(client, engine)

    def _failure(self, exc: Exception) -> tuple[int | None, str] | None:
        if isinstance(exc, OSConnectionError):
            return None, str(exc)
        if isinstance(exc, TransportError):
            status = exc.status_code if isinstance(exc.status_code, int) else None
            return status, f"{exc.error}: {exc.info}"
        return None

    async def _bulk_request(self, body: bytes) -> Any:
        return await self._client.bulk(body=body)

    async def _create_index(self, index: str, body: dict[str, Any]) -> Any:
        return await self._client.indices.create(index=index, body=body or None)

    async def _update_aliases(self, actions: list[dict[str, Any]]) -> Any:
        return await self._client.indices.update_aliases(body={"actions": actions})

    async def put_index_template(self, name: str, body: dict[str, Any]) -> None:
        await self._call(
            f"put template {name}", self._client.indices.put_index_template(name=name, body=body)
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
        body: dict[str, Any] = {
            "query": query or {"match_all": {}},
            "size": size,
            "track_total_hits": True,
        }
        if sort is not None:
            body["sort"] = sort
        if search_after is not None:
            body["search_after"] = search_after
        response = await self._call(f"search {index}", self._client.search(index=index, body=body))
        return dict(response or {})

    async def count(self, index: str, query: dict[str, Any] | None = None) -> int:
        body = {"query": query or {"match_all": {}}}
        response = await self._call(f"count {index}", self._client.count(index=index, body=body))
        return int((response or {})["count"])

    async def _delete_by_query_request(self, index: str, query: dict[str, Any]) -> Any:
        return await self._client.delete_by_query(
            index=index,
            body={"query": query},
            refresh=True,
            conflicts="proceed",
            slices="auto",
        )

    async def aggregate(
        self, index: str, query: dict[str, Any], aggs: dict[str, Any]
    ) -> dict[str, Any]:
        body = {"query": query, "aggs": aggs, "size": 0, "track_total_hits": True}
        response = dict(
            await self._call(f"aggregate {index}", self._client.search(index=index, body=body))
            or {}
        )
        total = response.get("hits", {}).get("total", 0)
        count = total["value"] if isinstance(total, dict) else total
        return {"total": int(count), "aggregations": response.get("aggregations", {})}
