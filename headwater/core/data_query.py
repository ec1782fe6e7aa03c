"""How the private API's data routes filter, sort and page (pure: builds query bodies).

Only listed fields can be filtered or sorted on, so free-form input never reaches the
query. Every sort ends with the document id, so ``search_after`` pages are exact: no
document repeats or goes missing between pages, however deep.

Reads follow merges: a profile merged into another (``merged_into`` set) is not listed
unless the ``merged`` filter asks for it, and a filter given a list of values (a
survivor's id with the ids merged into it) matches any of them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import orjson

from headwater.errors import InvalidInput

__all__ = [
    "FILTERS",
    "MERGED",
    "SORTABLE",
    "DataFamily",
    "decode_cursor",
    "encode_cursor",
    "filter_query",
    "sort_clause",
]

DataFamily = Literal["events", "profiles", "sessions"]

FILTERS: dict[DataFamily, dict[str, str]] = {
    "events": {
        "type": "type",
        "profile_id": "profile.id",
        "session_id": "session.id",
        "source_id": "source.id",
    },
    # identifier: hashed as the profile agent does (core/identity.py lookup_identifier)
    "profiles": {"id": "id", "segment": "segments", "identifier": "ids", "merged": "merged_into"},
    "sessions": {"profile_id": "profile.id", "id": "id"},
}
SORTABLE: dict[DataFamily, tuple[str, ...]] = {
    "events": ("time.insert", "time.create", "type"),
    "profiles": ("id", "version", "stats.events", "stats.visits", "metadata.time.last_visit"),
    "sessions": ("start", "last", "events", "duration"),
}
# ``merged`` filter of profiles: "false" (default) the live ones, "true" only those merged
# into another, "any" both
MERGED = ("false", "true", "any")
DEFAULT_SORT: dict[DataFamily, str] = {
    "events": "time.insert:desc",
    "profiles": "id:asc",
    "sessions": "start:desc",
}


def sort_clause(family: DataFamily, sort: str | None) -> list[dict[str, Any]]:
    """``field:asc|desc`` (default per family) -> the engine's sort, id last."""
    field, _, order = (sort or DEFAULT_SORT[family]).partition(":")
    order = order or "asc"
    if field not in SORTABLE[family] or order not in ("asc", "desc"):
        allowed = ", ".join(SORTABLE[family])
        raise InvalidInput(f"sort {family} by one of {allowed}, as field:asc|desc", field="sort")
    clause: list[dict[str, Any]] = [{field: {"order": order, "missing": "_last"}}]
    if field != "id":
        clause.append({"id": {"order": "asc"}})
    return clause


def filter_query(
    tenant: str, family: DataFamily, filters: Mapping[str, str | Sequence[str]]
) -> dict[str, Any]:
    # The tenant term is redundant with the tenant's alias, and kept on purpose: a
    # document written to the wrong index by a bug still never crosses tenants.
    terms: list[dict[str, Any]] = [{"term": {"tenant": tenant}}]
    excluded: list[dict[str, Any]] = []
    for name, value in filters.items():
        field = FILTERS[family].get(name)
        if field is None:
            raise InvalidInput(f"cannot filter {family} by {name}", field=name)
        if name == "merged":
            continue
        if isinstance(value, str):
            terms.append({"term": {field: value}})
        else:
            terms.append({"terms": {field: list(value)}})
    if family == "profiles":
        merged = filters.get("merged", "false")
        if merged not in MERGED:
            raise InvalidInput(f"merged is one of {', '.join(MERGED)}", field="merged")
        if merged == "false":
            excluded.append({"exists": {"field": "merged_into"}})
        elif merged == "true":
            terms.append({"exists": {"field": "merged_into"}})
    query: dict[str, Any] = {"filter": terms}
    if excluded:
        query["must_not"] = excluded
    return {"bool": query}


def encode_cursor(sort: list[dict[str, Any]], values: list[Any]) -> str:
    """The next page's cursor: the last hit's sort values, tied to the sort they came from."""
    return base64.urlsafe_b64encode(orjson.dumps({"sort": sort, "after": values})).decode()


def decode_cursor(cursor: str, sort: list[dict[str, Any]]) -> list[Any]:
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidInput("invalid paging cursor", field="after") from exc
    if not isinstance(decoded, dict) or not isinstance(decoded.get("after"), list):
        raise InvalidInput("invalid paging cursor", field="after")
    if decoded.get("sort") != sort:
        raise InvalidInput("the cursor belongs to another sort", field="after")
    values: list[Any] = decoded["after"]
    return values
