"""What both search adapters do the same way; each adapter supplies ``_call`` and the
requests whose shape differs between the two clients (templates, bulk, search, count)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable
from typing import Any, TypeVar

from headwater.errors import SearchRejected
from headwater.infra.search.port import Engine

__all__ = ["ClientStore"]

T = TypeVar("T")


class ClientStore(ABC):
    """Shared half of an adapter over a client with the Elasticsearch-style API."""

    def __init__(self, client: Any, engine: Engine) -> None:
        self._client = client
        self.engine: Engine = engine

    @abstractmethod
    async def _call(self, what: str, call: Awaitable[T], *, allow_404: bool = False) -> T | None:
        """Await ``call``, translating the client's errors into Headwater's."""

    async def info(self) -> dict[str, Any]:
        return dict(await self._call("info", self._client.info()) or {})

    async def ensure_index(self, index: str) -> bool:
        if await self._call(f"exists {index}", self._client.indices.exists(index=index)):
            return False
        try:
            await self._call(f"create {index}", self._client.indices.create(index=index))
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

    async def refresh(self, index: str) -> None:
        await self._call(f"refresh {index}", self._client.indices.refresh(index=index))

    async def get_alias(self, name: str) -> list[str]:
        response = await self._call(
            f"alias {name}", self._client.indices.get_alias(name=name), allow_404=True
        )
        return [] if response is None else sorted(response.keys())

    async def close(self) -> None:
        await self._client.close()
