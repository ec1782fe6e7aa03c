"""Filters, sorts and paging cursors of the data routes."""

from __future__ import annotations

import pytest

from headwater.core.data_query import decode_cursor, encode_cursor, filter_query, sort_clause
from headwater.errors import InvalidInput


def test_default_sorts_end_with_the_id() -> None:
    assert sort_clause("events", None) == [
        {"time.insert": {"order": "desc", "missing": "_last"}},
        {"id": {"order": "asc"}},
    ]
    assert sort_clause("profiles", None) == [{"id": {"order": "asc", "missing": "_last"}}]


def test_chosen_sort() -> None:
    assert sort_clause("profiles", "stats.events:desc")[0] == {
        "stats.events": {"order": "desc", "missing": "_last"}
    }
    assert sort_clause("sessions", "duration")[0]["duration"]["order"] == "asc"


@pytest.mark.parametrize("sort", ["properties.secret:asc", "time.insert:sideways", "type:desc"])
def test_unlisted_sorts_are_refused(sort: str) -> None:
    with pytest.raises(InvalidInput):
        sort_clause("profiles", sort)


def test_filters_always_carry_the_tenant() -> None:
    query = filter_query("acme", "events", {"type": "purchase"})
    assert query == {
        "bool": {"filter": [{"term": {"tenant": "acme"}}, {"term": {"type": "purchase"}}]}
    }
    with pytest.raises(InvalidInput):
        filter_query("acme", "events", {"tenant": "other"})


def test_cursor_round_trip_and_sort_binding() -> None:
    order = sort_clause("events", None)
    cursor = encode_cursor(order, [1_700_000_000_000, "ev-1"])
    assert decode_cursor(cursor, order) == [1_700_000_000_000, "ev-1"]
    with pytest.raises(InvalidInput, match="another sort"):
        decode_cursor(cursor, sort_clause("events", "type:asc"))
    for bad in ("%%%", "bm90IGpzb24", "WzFd"):  # not base64, not JSON, a bare list
        with pytest.raises(InvalidInput):
            decode_cursor(bad, order)


def test_merged_profiles_are_left_out_unless_asked_for() -> None:
    live = filter_query("acme", "profiles", {})
    assert live["bool"]["must_not"] == [{"exists": {"field": "merged_into"}}]
    only = filter_query("acme", "profiles", {"merged": "true"})
    assert {"exists": {"field": "merged_into"}} in only["bool"]["filter"]
    assert "must_not" not in only["bool"]
    every = filter_query("acme", "profiles", {"merged": "any"})
    assert every == {"bool": {"filter": [{"term": {"tenant": "acme"}}]}}
    with pytest.raises(InvalidInput):
        filter_query("acme", "profiles", {"merged": "maybe"})
    with pytest.raises(InvalidInput):  # only profiles are merged
        filter_query("acme", "events", {"merged": "true"})


def test_a_list_of_values_matches_any_of_them() -> None:
    query = filter_query("acme", "events", {"profile_id": ["survivor", "absorbed"]})
    assert {"terms": {"profile.id": ["survivor", "absorbed"]}} in query["bool"]["filter"]
