"""What the rest of Headwater needs from a search engine, and nothing more."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import orjson

__all__ = [
    "AliasMove",
    "BulkAction",
    "BulkOutcome",
    "Engine",
    "SearchStore",
    "bulk_body",
    "classify_bulk_items",
    "latest_versions",
]

Engine = Literal["elasticsearch", "opensearch"]


@dataclass(frozen=True, slots=True)
class BulkAction:
    """One document write. ``create`` never overwrites (events are immutable);
    ``index`` with ``version`` uses external versioning (newer snapshot wins);
    ``delete`` with ``version`` removes the document unless a newer one is stored."""

    index: str
    id: str
    doc: dict[str, Any]
    op: Literal["create", "index", "delete"] = "create"
    version: int | None = None
    size_hint: int = 512  # approximate bytes of the document, for bounding bulk requests
    alias: str | None = None  # the alias ``index`` joins if this write has to create it

    def header(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"_index": self.index, "_id": self.id}
        if self.version is not None:
            meta["version"] = self.version
            meta["version_type"] = "external"
        return {self.op: meta}


@dataclass(frozen=True, slots=True)
class AliasMove:
    """Point ``alias`` at ``add`` instead of ``remove``."""

    alias: str
    remove: tuple[str, ...]
    add: tuple[str, ...]

    def actions(self) -> list[dict[str, Any]]:
        removals = [{"remove": {"index": i, "alias": self.alias}} for i in self.remove]
        return removals + [{"add": {"index": i, "alias": self.alias}} for i in self.add]


@dataclass(slots=True)
class BulkOutcome:
    """Per-item result of a bulk request, sorted by what the caller must do next."""

    written: int = 0
    already_there: int = 0  # create of an existing id, or an older external version
    retry: list[BulkAction] = field(default_factory=list)
    rejected: list[tuple[BulkAction, str]] = field(default_factory=list)


def _json_default(value: Any) -> Any:
    """What orjson does not write natively (a Decimal from a plugin, a set): as the
    clients' own serializers did, a number or a list, else the text."""
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def bulk_body(actions: Sequence[BulkAction]) -> bytes:
    """The bulk API body, NDJSON: a header line then the document, for each action.

    Written with orjson, not the clients' stdlib serializers (a quarter of the storage
    stage's CPU went there, bench/pipeline.py)."""
    dumps = orjson.dumps
    lines: list[bytes] = []
    for action in actions:
        lines.append(dumps(action.header()))
        if action.op != "delete":
            lines.append(dumps(action.doc, default=_json_default))
    lines.append(b"")
    return b"\n".join(lines)


def latest_versions(actions: Sequence[BulkAction]) -> list[BulkAction]:
    """``actions`` without the versioned writes a later one of the same document makes
    moot: per (index, id) only the highest version stays (on a tie the first, which the
    engine would keep: an external version must grow). A profile's snapshots and its
    session's updates within one batch of messages then cost one write, not one per
    event. Unversioned writes (event creates) all stay, in their order."""
    best: dict[tuple[str, str], int] = {}
    for position, action in enumerate(actions):
        if action.version is None:
            continue
        key = (action.index, action.id)
        kept = best.get(key)
        if kept is None or action.version > (actions[kept].version or 0):
            best[key] = position
    if len(best) == sum(action.version is not None for action in actions):
        return list(actions)
    winners = set(best.values())
    return [a for n, a in enumerate(actions) if a.version is None or n in winners]


def classify_bulk_items(actions: Sequence[BulkAction], items: list[dict[str, Any]]) -> BulkOutcome:
    """Map a bulk response's items back to the actions that produced them."""
    outcome = BulkOutcome()
    for action, item in zip(actions, items, strict=True):
        result = next(iter(item.values()))
        status = int(result.get("status", 500))
        if status < 300:
            outcome.written += 1
        elif status == 409 or (status == 404 and action.op == "delete"):
            outcome.already_there += 1
        elif status == 429 or status >= 500:
            outcome.retry.append(action)
        else:
            error = result.get("error", {})
            reason = (
                f"{error.get('type')}: {error.get('reason')}" if isinstance(error, dict) else error
            )
            outcome.rejected.append((action, f"{status} {reason}"))
    return outcome


class SearchStore(Protocol):
    """The port. Adapters translate client errors into SearchUnavailable / SearchRejected."""

    engine: Engine

    async def info(self) -> dict[str, Any]: ...

    async def put_index_template(self, name: str, body: dict[str, Any]) -> None: ...

    async def ensure_index(self, index: str, alias: str | None = None) -> bool:
        """Create ``index`` (templates apply), with ``alias`` when given, unless it
        exists; True when created."""
        ...

    async def move_aliases(self, moves: Sequence[AliasMove]) -> None:
        """Apply every move in one atomic request: readers see all or none of them."""
        ...

    async def bulk(self, actions: Sequence[BulkAction]) -> BulkOutcome: ...

    async def search(
        self,
        index: str,
        *,
        query: dict[str, Any] | None = None,
        size: int = 10,
        sort: list[Any] | None = None,
        search_after: list[Any] | None = None,
    ) -> dict[str, Any]: ...

    async def count(self, index: str, query: dict[str, Any] | None = None) -> int: ...

    async def get(self, index: str, doc_id: str) -> dict[str, Any] | None: ...

    async def aggregate(
        self, index: str, query: dict[str, Any], aggs: dict[str, Any]
    ) -> dict[str, Any]:
        """Run aggregations over matching documents (no hits): ``{"total": n,
        "aggregations": {...}}`` as the engine answers them."""
        ...

    async def delete_by_query(self, index: str, query: dict[str, Any]) -> int:
        """Delete every matching document stored until now (written but not yet
        refreshed included), refresh, and return how many went."""
        ...

    async def refresh(self, index: str) -> None: ...

    async def list_indices(self, pattern: str) -> list[str]:
        """Names of the indices matching a wildcard pattern."""
        ...

    async def delete_indices(self, names: Sequence[str]) -> None:
        """Delete indices by name (never by wildcard: clusters refuse that by default)."""
        ...

    async def delete_index_template(self, name: str) -> None:
        """Delete a composable index template; no error when it does not exist."""
        ...

    async def get_index_template(self, name: str) -> dict[str, Any] | None:
        """The body of an index template as stored, None when there is none."""
        ...

    async def get_mappings(self, pattern: str) -> dict[str, dict[str, Any]]:
        """index name -> its mappings, for the indices ``pattern`` names."""
        ...

    async def get_alias(self, name: str) -> list[str]:
        """Indices the alias points at; empty when it does not exist."""
        ...

    async def close(self) -> None: ...
