"""Counts per event type (``profile.stats.by_type.*``) are indexed as keywords but are
always whole numbers from 0 up: the query compiler orders them by listing the counts
below the bound, so segments like "more than 3 page views" can be searched."""

from __future__ import annotations

import pytest

from headwater.core.conditions import compile_query
from headwater.core.conditions.query import MAX_LISTED_COUNT
from headwater.errors import ConditionNotSearchable

NOW = 1_764_400_000_000
FIELD = "stats.by_type.page-view"


def q(text: str) -> dict:
    return compile_query(text, now_ms=NOW, engine="elasticsearch")


def _not_listed(*counts: int) -> dict:
    listed = [str(n) for n in counts]
    return {
        "bool": {"filter": [{"exists": {"field": FIELD}}], "must_not": [{"terms": {FIELD: listed}}]}
    }


def test_order_over_counts_lists_the_counts_below_the_bound() -> None:
    assert q("profile.stats.by_type.page-view > 3") == _not_listed(0, 1, 2, 3)
    assert q("profile.stats.by_type.page-view >= 3") == _not_listed(0, 1, 2)
    assert q("profile.stats.by_type.page-view < 3") == {"terms": {FIELD: ["0", "1", "2"]}}
    assert q("profile.stats.by_type.page-view <= 2.5") == {"terms": {FIELD: ["0", "1", "2"]}}
    assert q("profile.stats.by_type.page-view > 2.5") == _not_listed(0, 1, 2)


def test_bounds_no_count_passes_or_every_count_passes() -> None:
    assert q("profile.stats.by_type.page-view < 0") == {"match_none": {}}
    assert q("profile.stats.by_type.page-view >= 0") == {"exists": {"field": FIELD}}
    assert q("profile.stats.by_type.page-view > -2") == {"exists": {"field": FIELD}}
    assert q('profile.stats.by_type.page-view > "3"') == {"match_none": {}}


def test_equality_over_counts_is_typed() -> None:
    assert q("profile.stats.by_type.page-view = 3") == {"term": {FIELD: "3"}}
    assert q("profile.stats.by_type.page-view = 3.0") == {"term": {FIELD: "3"}}
    assert q("profile.stats.by_type.page-view = 3.5") == {"match_none": {}}
    assert q('profile.stats.by_type.page-view = "3"') == {"match_none": {}}
    assert q("profile.stats.by_type.page-view in [1, 2.0, true]") == {
        "bool": {
            "should": [{"term": {FIELD: "1"}}, {"term": {FIELD: "2"}}],
            "minimum_should_match": 1,
        }
    }
    assert q('profile.stats.by_type.page-view contains "1"') == {"match_none": {}}


def test_refused_where_the_list_would_be_too_long_or_the_bound_is_a_moment() -> None:
    assert q(f"profile.stats.by_type.page-view > {MAX_LISTED_COUNT}")
    with pytest.raises(ConditionNotSearchable, match="at most"):
        q(f"profile.stats.by_type.page-view > {MAX_LISTED_COUNT + 1}")
    with pytest.raises(ConditionNotSearchable, match="not moments"):
        q("profile.stats.by_type.page-view > now - 1d")
