"""Bulk writes that survive search-engine outages: retry with back-off, never drop."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence

from headwater.core.ports.search import BulkAction, SearchStore
from headwater.errors import SearchRejected, SearchUnavailable
from headwater.observability.metrics import SEARCH_BULK_ERRORS, SEARCH_BULK_SECONDS
from headwater.streams.backoff import Backoff

__all__ = ["BulkWriter", "index_kind", "plan_chunks"]

log = logging.getLogger(__name__)

# <prefix>-<tenant>-<env>-<kind>[-...]: tenant ids have no "-", so the kind is found
_KIND = re.compile(r"-(?:production|staging)-(events|profiles|sessions|merges)(?:-|$)")


def index_kind(actions: Sequence[BulkAction]) -> str:
    """The ``index_kind`` label of one bulk request: events, profiles, sessions or
    merges, ``mixed`` when it writes several kinds, ``other`` for an unknown index."""
    kinds = {(m.group(1) if (m := _KIND.search(a.index)) else "other") for a in actions}
    return kinds.pop() if len(kinds) == 1 else "mixed"


def plan_chunks(
    actions: Sequence[BulkAction], max_docs: int, max_bytes: int
) -> list[list[BulkAction]]:
    """Split into bulk requests of at most ``max_docs`` documents and about ``max_bytes``
    bytes (by each action's size hint); a single larger document goes alone."""
    chunks: list[list[BulkAction]] = []
    current: list[BulkAction] = []
    size = 0
    for action in actions:
        if current and (len(current) >= max_docs or size + action.size_hint > max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append(action)
        size += action.size_hint
    if current:
        chunks.append(current)
    return chunks


class BulkWriter:
    """Writes actions in chunks; returns only those the engine refused for good.

    While the engine is unreachable or overloaded (connection errors, 429, 5xx), the
    writer waits and tries again, holding the caller (and so the consumer) back.
    """

    def __init__(
        self,
        store: SearchStore,
        *,
        chunk: int = 1000,
        max_bytes: int = 5 * 1024 * 1024,
        max_backoff: float = 30.0,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self._store = store
        self._chunk = chunk
        self._max_bytes = max_bytes
        self._backoff = Backoff(max_backoff)
        self._stopping = stopping
        self._known_indices: set[str] = set()
        self.written = 0
        self.already_there = 0

    @property
    def chunk(self) -> int:
        """The most documents one bulk request carries."""
        return self._chunk

    @property
    def indices(self) -> frozenset[str]:
        """Every index this writer has written to (and created when missing)."""
        return frozenset(self._known_indices)

    async def ensure_indices(self, actions: Sequence[BulkAction]) -> None:
        wanted = {a.index: a.alias for a in actions if a.index not in self._known_indices}
        for index, alias in wanted.items():
            await self.retrying(lambda i=index, a=alias: self._store.ensure_index(i, a))  # type: ignore[misc]
            self._known_indices.add(index)

    async def write(self, actions: Sequence[BulkAction]) -> list[tuple[BulkAction, str]]:
        await self.ensure_indices(actions)
        rejected: list[tuple[BulkAction, str]] = []
        for chunk in plan_chunks(actions, self._chunk, self._max_bytes):
            rejected.extend(await self._write_chunk(chunk))
        return rejected

    async def _write_chunk(self, pending: list[BulkAction]) -> list[tuple[BulkAction, str]]:
        rejected: list[tuple[BulkAction, str]] = []
        while pending:
            kind = index_kind(pending)
            started = time.perf_counter()
            try:
                outcome = await self._store.bulk(pending)
            except SearchUnavailable as exc:
                SEARCH_BULK_ERRORS.labels(kind, "unavailable").inc()
                log.warning("search engine unavailable (%s); %d docs wait", exc, len(pending))
                await self._pause()
                continue
            except SearchRejected as exc:
                SEARCH_BULK_ERRORS.labels(kind, "request_rejected").inc()
                if len(pending) > 1:  # e.g. request too large: halve and go on
                    half = len(pending) // 2
                    rejected += await self._write_chunk(pending[:half])
                    pending = pending[half:]
                    continue
                return [*rejected, (pending[0], str(exc))]
            SEARCH_BULK_SECONDS.labels(kind).observe(time.perf_counter() - started)
            if outcome.rejected:
                SEARCH_BULK_ERRORS.labels(kind, "item_rejected").inc(len(outcome.rejected))
            if outcome.retry:
                SEARCH_BULK_ERRORS.labels(kind, "item_retried").inc(len(outcome.retry))
            self.written += outcome.written
            self.already_there += outcome.already_there
            rejected += outcome.rejected
            pending = outcome.retry
            if pending:
                log.warning("search engine pushed back on %d docs; retrying", len(pending))
                await self._pause()
            else:
                self._backoff.reset()
        return rejected

    async def retrying(self, call: Callable[[], Awaitable[object]]) -> None:
        """Run ``call`` until it gets through an outage of the search engine."""
        while True:
            try:
                await call()
            except SearchUnavailable as exc:
                log.warning("search engine unavailable (%s); retrying", exc)
                await self._pause()
                continue
            self._backoff.reset()
            return

    async def _pause(self) -> None:
        if self._stopping():
            raise asyncio.CancelledError("stopping while the search engine is unavailable")
        await self._backoff.wait()
