"""The one search for a segment's members, shared by ``GET /segments/{id}/members`` and
``GET /profiles?segment=<id>`` so the two always agree, and the save-time check that the
search can run a segment's condition at all (the agents run it as a predicate)."""

from __future__ import annotations

import time
from typing import Any

from headwater.console.auth import Scope
from headwater.core.automation import SEGMENT_KIND
from headwater.core.conditions import compile_query
from headwater.core.ports.search import Engine
from headwater.errors import ConditionNotSearchable

__all__ = ["check_searchable", "defined_segment_query", "members_query"]

_LIVE = {"exists": {"field": "merged_into"}}  # merged-away profiles are in no segment


def members_query(condition: str, *, engine: Engine, now_ms: int) -> dict[str, Any]:
    """Profiles the condition selects at ``now_ms``, merged-away profiles left out."""
    try:
        compiled = compile_query(condition, now_ms=now_ms, engine=engine)
    except ConditionNotSearchable as exc:
        raise ConditionNotSearchable(
            f"condition: {exc.message} (a segment's members are found by search)",
            field="condition",
        ) from None
    return {"bool": {"filter": [compiled], "must_not": [_LIVE]}}


def check_searchable(data: dict[str, Any], scope: Scope, _env: str) -> None:
    """On save: refuse a segment whose members the search engine could not list."""
    members_query(str(data["condition"]), engine=scope.data.store.engine, now_ms=_now_ms())


def defined_segment_query(scope: Scope, env: str, segment_id: str) -> dict[str, Any] | None:
    """The members query of a segment defined in the context; None for a segment
    without a definition (a label flows add), found by the profile's ``segments``."""
    entry = scope.config.find(SEGMENT_KIND, env, segment_id)
    if entry is None:
        return None
    engine = scope.data.store.engine
    return members_query(str(entry.data["condition"]), engine=engine, now_ms=_now_ms())


def _now_ms() -> int:
    return int(time.time() * 1000)
