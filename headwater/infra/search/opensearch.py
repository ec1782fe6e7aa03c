"""Adapter for OpenSearch and OpenSearch-compatible servers through ``opensearch-py``."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import NotFoundError, TransportError

from headwater.errors import SearchRejected, SearchUnavailable
from headwater.infra.search.base import ClientStore
from headwater.infra.search.port import (
    BulkAction,
    BulkOutcome,
    Engine,
    bulk_lines,
    classify_bulk_items,
)

__all__ = ["OpenSearchStore"]

T = TypeVar("T")


class OpenSearchStore(ClientStore):
    def __init__(self, client: AsyncOpenSearch, engine: Engine = "opensearch") -> None:
        super().__init__(client, engine)

    async def _call(self, what: str, call: Awaitable[T], *, allow_404: bool = False) -> T | None:
        try:
            return await call
        except NotFoundError as exc:
            if allow_404:
                return None
            raise SearchRejected(f"{what}: not found") from exc
        except OSConnectionError as exc:
            raise SearchUnavailable(f"{what}: {exc}") from exc
        except TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 503
            if status == 429 or status >= 500:
                raise SearchUnavailable(f"{what}: {status} {exc.error}") from exc
            raise SearchRejected(f"{what}: {status} {exc.error}: {exc.info}") from exc

    async def put_index_template(self, name: str, body: dict[str, Any]) -> None:
        await self._call(
            f"put template {name}", self._client.indices.put_index_template(name=name, body=body)
        )

    async def bulk(self, actions: Sequence[BulkAction]) -> BulkOutcome:
        if not actions:
            return BulkOutcome()
        body = bulk_lines(actions)
        response = await self._call("bulk", self._client.bulk(body=body))
        assert response is not None
        return classify_bulk_items(actions, response["items"])

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
