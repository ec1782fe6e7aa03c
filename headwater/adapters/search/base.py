"""What both search adapters do the same way; each adapter supplies ``_call`` and the
requests whose shape differs between the two clients (templates, bulk, search, count)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from headwater.core.ports.search import (
    AliasMove,
    BulkAction,
    BulkOutcome,
    Engine,
    bulk_body,
    classify_bulk_items,
)
from headwater.errors import SearchRejected, SearchUnavailable

__all__ = ["ClientStore"]

T = TypeVar("T")
_CONFLICT_ROUNDS = 5  # delete-by-query rounds while matching documents are being rewritten


class ClientStore(ABC):
    """Shared half of an adapter over a client with the Elasticsearch-style API."""

    def __init__(self, client: Any, engine: Engine) -> None:
        self._client = client
        self.engine: Engine = engine

    @abstractmethod
    def _failure(self, exc: Exception) -> tuple[int | None, str] | None:
        """For a client exception: (HTTP status or None for no answer, detail); None when
        the exception is not the client's."""

    @abstractmethod
    async def _bulk_request(self, body: bytes) -> Any:
        """Send an NDJSON bulk body with the client's own argument."""

    async def _call(self, what: str, call: Awaitable[T], *, allow_404: bool = False) -> T | None:
        """Await ``call``; the engine not answering, 429 and 5xx become SearchUnavailable
        (retry), other refusals SearchRejected. With ``allow_404`` a miss yields None."""
        try:
            return await call
        except Exception as exc:
            failure = self._failure(exc)
            if failure is None:
                raise
            status, detail = failure
            if status == 404 and allow_404:
                return None
            if status is None or status == 429 or status >= 500:
                raise SearchUnavailable(f"{what}: {status or 'no answer'} {detail}") from exc
            raise SearchRejected(f"{what}: {status} {detail}") from exc

    async def bulk(self, actions: Sequence[BulkAction]) -> BulkOutcome:
        if not actions:
            return BulkOutcome()
        response = await self._call("bulk", self._bulk_request(bulk_body(actions)))
        assert response is not None
        return classify_bulk_items(actions, response["items"])

    @abstractmethod
    async def _delete_by_query_request(self, index: str, query: dict[str, Any]) -> Any:
        """One delete-by-query with the client's arguments: conflicts proceed, refresh
        after, ``slices=auto`` (one slice per shard, deleted in parallel)."""

    async def delete_by_query(self, index: str, query: dict[str, Any]) -> int:
        """Delete-by-query deletes what a search finds: a refresh first makes every
        document written until now findable. A document changed between that search and
        its deletion (a version conflict) is searched for again; a shard or bulk failure
        inside the request is SearchUnavailable (the caller retries the whole deletion)."""
        deleted = 0
        for _ in range(_CONFLICT_ROUNDS):
            await self.refresh(index)
            response = await self._call(
                f"delete by query {index}", self._delete_by_query_request(index, query)
            )
            answer = dict(response or {})
            deleted += int(answer.get("deleted", 0))
            if answer.get("failures"):
                raise SearchUnavailable(
                    f"delete by query {index}: {deleted} deleted, then {answer['failures'][:3]}"
                )
            if not answer.get("version_conflicts"):
                return deleted
        raise SearchUnavailable(
            f"delete by query {index}: documents kept changing ({_CONFLICT_ROUNDS} rounds)"
        )

    async def info(self) -> dict[str, Any]:
        return dict(await self._call("info", self._client.info()) or {})

    @abstractmethod
    async def _create_index(self, index: str, body: dict[str, Any]) -> Any:
        """Create one index with settings/aliases from ``body`` (may be empty)."""

    @abstractmethod
    async def _update_aliases(self, actions: list[dict[str, Any]]) -> Any:
        """Send alias actions (add/remove) as one request."""

    async def move_aliases(self, moves: Sequence[AliasMove]) -> None:
        actions = [action for move in moves for action in move.actions()]
        if actions:
            await self._call("update aliases", self._update_aliases(actions))

    async def ensure_index(self, index: str, alias: str | None = None) -> bool:
        if await self._call(f"exists {index}", self._client.indices.exists(index=index)):
            return False
        body: dict[str, Any] = {"aliases": {alias: {}}} if alias else {}
        try:
            await self._call(f"create {index}", self._create_index(index, body))
        except SearchRejected as exc:
            if "resource_already_exists_exception" in str(exc):
                return False
            raise
        return True

    async def get(self, index: str, doc_id: str) -> dict[str, Any] | None:
        response = await self._call(
            f"get {index}/{doc_id}", self._client.get(index=index, id=doc_id), allow_404=True
        )
        return None if response is None else dict(response["_source"])

    async def list_indices(self, pattern: str) -> list[str]:
        response = await self._call(
            f"indices {pattern}",
            self._client.indices.get(index=pattern, allow_no_indices=True, ignore_unavailable=True),
            allow_404=True,
        )
        return sorted(response or {})

    async def delete_indices(self, names: Sequence[str]) -> None:
        for name in names:
            await self._call(
                f"delete {name}", self._client.indices.delete(index=name), allow_404=True
            )

    async def delete_index_template(self, name: str) -> None:
        await self._call(
            f"delete template {name}",
            self._client.indices.delete_index_template(name=name),
            allow_404=True,
        )

    async def refresh(self, index: str) -> None:
        await self._call(f"refresh {index}", self._client.indices.refresh(index=index))

    async def get_index_template(self, name: str) -> dict[str, Any] | None:
        response = await self._call(
            f"template {name}", self._client.indices.get_index_template(name=name), allow_404=True
        )
        for found in (response or {}).get("index_templates", []):
            if found.get("name") == name:
                return dict(found["index_template"])
        return None

    async def get_mappings(self, pattern: str) -> dict[str, dict[str, Any]]:
        response = await self._call(
            f"mappings {pattern}",
            self._client.indices.get_mapping(
                index=pattern, allow_no_indices=True, ignore_unavailable=True
            ),
            allow_404=True,
        )
        return {name: dict(body.get("mappings", {})) for name, body in (response or {}).items()}

    async def get_alias(self, name: str) -> list[str]:
        response = await self._call(
            f"alias {name}", self._client.indices.get_alias(name=name), allow_404=True
        )
        return [] if response is None else sorted(response.keys())

    async def close(self) -> None:
        await self._client.close()
