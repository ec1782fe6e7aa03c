"""``/sources`` (event sources), ``/mappings`` (event-to-profile mappings) and
``/merge-rules`` (merge keys and strategies): the versioned configuration kinds."""

from __future__ import annotations

from typing import Any

from headwater.console.models import (
    MappingIn,
    MappingOut,
    MergeRulesIn,
    MergeRulesOut,
    SourceIn,
    SourceOut,
)
from headwater.console.routes.entities import entity_router
from headwater.core.mapping import MAPPING_KIND, mapping_from_config
from headwater.core.merge_rules import MERGE_RULES_KIND
from headwater.core.sources import SOURCE_KIND
from headwater.errors import InvalidInput

__all__ = ["mappings", "merge_rules", "sources"]


def _valid_mapping(data: dict[str, Any]) -> None:
    """Refuse what the profile agent would ignore, with the agent's own parser."""
    try:
        mapping_from_config(data)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="fields") from exc


sources = entity_router(
    kind=SOURCE_KIND,
    prefix="/sources",
    noun="event source",
    body_model=SourceIn,
    out_model=SourceOut,
    out=SourceOut.of,
)
mappings = entity_router(
    kind=MAPPING_KIND,
    prefix="/mappings",
    noun="event mapping",
    body_model=MappingIn,
    out_model=MappingOut,
    out=MappingOut.of,
    check=_valid_mapping,
)
merge_rules = entity_router(
    kind=MERGE_RULES_KIND,
    prefix="/merge-rules",
    noun="merge rule set",
    body_model=MergeRulesIn,
    out_model=MergeRulesOut,
    out=MergeRulesOut.of,
)
