"""How the profile document is mapped in the search engine, as the query compiler needs
to know it (adapters/search/templates.py is the mapping itself; a unit test keeps the two
in step)."""

from __future__ import annotations

from typing import Literal

from headwater.core.conditions.ast import Path
from headwater.core.ports.search import Engine
from headwater.errors import ConditionNotSearchable

__all__ = ["PROFILE_FIELDS", "Engine", "FieldKind", "profile_field"]

FieldKind = Literal["keyword", "long", "date", "flat", "counts"]
# The search engine's dialect (``Engine``, from the search port) matters here in one way:
# Elasticsearch refuses wildcard queries on keys of ``flattened`` fields, OpenSearch's
# ``flat_object`` answers them.

# Field (dotted, in the profile document) -> how it is indexed. "flat" fields are
# Elasticsearch ``flattened`` / OpenSearch ``flat_object``: every leaf under them is a
# keyword, so their numbers compare as text. "counts" is a flat field whose leaves are
# always whole numbers from 0 up, written by the profile fold (events per type): the
# query compiler can order them exactly by listing the few counts below a bound.
PROFILE_FIELDS: dict[str, FieldKind] = {
    "id": "keyword",
    "tenant": "keyword",
    "env": "keyword",
    "ids": "keyword",
    "segments": "keyword",
    "merged_into": "keyword",
    "merges": "long",
    "version": "long",
    "stats.events": "long",
    "stats.visits": "long",
    "metadata.time.first_visit": "date",
    "metadata.time.last_visit": "date",
    "traits": "flat",
    "data": "flat",
    "consents": "flat",
    "interests": "flat",
    "stats.by_type": "counts",
    "metadata.field_times": "flat",
}


def profile_field(path: Path) -> tuple[str, FieldKind]:
    """The document field of a ``profile.*`` path and its kind; refuses other roots and
    fields the profile mapping does not have."""
    if path.root != "profile":
        raise ConditionNotSearchable(
            f"{path.text}: only profile.* paths can be searched (profiles are the documents)"
        )
    field = ".".join(path.keys)
    if field in PROFILE_FIELDS:
        return field, PROFILE_FIELDS[field]
    for depth in range(len(path.keys) - 1, 0, -1):
        kind = PROFILE_FIELDS.get(".".join(path.keys[:depth]))
        if kind in ("flat", "counts"):
            return field, kind
    raise ConditionNotSearchable(f"{path.text}: the profile document has no such field")
