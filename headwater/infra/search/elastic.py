"""Adapter for Elasticsearch 8/9 through the official ``elasticsearch`` client."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from elastic_transport import TransportError
from elasticsearch import ApiError, AsyncElasticsearch, NotFoundError

from headwater.errors import SearchRejected, SearchUnavailable
from headwater.infra.search.base import ClientStore
from headwater.infra.search.port import (
    BulkAction,
    BulkOutcome,
    Engine,
    bulk_lines,
    classify_bulk_items,
)

__all__ = ["ElasticsearchStore"]

T = TypeVar("T")


class ElasticsearchStore(ClientStore):
    def __init__(self, client: AsyncElasticsearch, engine: Engine = "elasticsearch") -> None:
        super().__init__(client, engine)

    async def _call(self, what: str, call: Awaitable[T], *, allow_404: bool = False) -> T | None:
        try:
            return await call
        except NotFoundError as exc:
            if allow_404:
                return None
            raise SearchRejected(f"{what}: not found") from exc
        except ApiError as exc:
            status = exc.meta.status
            if status == 429 or status >= 500:
                raise SearchUnavailable(f"{what}: {status} {exc.message}") from exc
            raise SearchRejected(f"{what}: {status} {exc.message}: {exc.body}") from exc
        except TransportError as exc:
            raise SearchUnavailable(f"{what}: {exc}") from exc

    async def put_index_template(self, name: str, body: dict[str, Any]) -> None:
        await self._call(
            f"put template {name}", self._client.indices.put_index_template(name=name, **body)
        )

    async def bulk(self, actions: Sequence[BulkAction]) -> BulkOutcome:
        if not actions:
            return BulkOutcome()
        operations = bulk_lines(actions)
        response = await self._call("bulk", self._client.bulk(operations=operations))
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
