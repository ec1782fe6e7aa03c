"""The search-query compiler: the query shapes, and refusals where the engine would
answer differently from the predicate."""

from __future__ import annotations

import pytest

from headwater.adapters.search.templates import profiles_template
from headwater.core.conditions import compile_query
from headwater.core.conditions.fields import PROFILE_FIELDS
from headwater.errors import ConditionNotSearchable

NOW = 1_764_400_000_000


def q(text: str, engine: str = "opensearch") -> dict:
    return compile_query(text, now_ms=NOW, engine=engine)  # type: ignore[arg-type]


def test_comparisons() -> None:
    assert q('profile.traits.plan = "pro"') == {"term": {"traits.plan": "pro"}}
    assert q("profile.stats.visits > 3") == {"range": {"stats.visits": {"gt": 3}}}
    assert q('profile.traits.plan != "pro"', "elasticsearch") == {
        "bool": {
            "filter": [{"exists": {"field": "traits.plan"}}],
            "must_not": [{"term": {"traits.plan": "pro"}}],
        }
    }
    assert q("profile.traits.plan = null", "elasticsearch") == {
        "bool": {"must_not": [{"exists": {"field": "traits.plan"}}]}
    }


def test_presence_of_a_key_inside_a_free_form_field_on_opensearch_is_an_empty_prefix() -> None:
    """OpenSearch 2.x's ``exists`` on a flat_object key matches the key's last name at
    any depth (OpenSearch#11748); an empty prefix matches the exact path's values."""
    assert q("profile.traits.address.city exists") == {"prefix": {"traits.address.city": ""}}
    assert q("profile.traits.plan = null") == {
        "bool": {"must_not": [{"prefix": {"traits.plan": ""}}]}
    }
    assert q("profile.stats.by_type.click >= 0") == {"prefix": {"stats.by_type.click": ""}}
    assert q("profile.traits exists") == {"exists": {"field": "traits"}}  # the field itself
    assert q("profile.id exists") == {"exists": {"field": "id"}}
    assert q("profile.traits.address.city exists", "elasticsearch") == {
        "exists": {"field": "traits.address.city"}
    }


def test_moments_resolve_against_the_given_now() -> None:
    query = q("profile.metadata.time.last_visit >= now - 1d")
    assert query == {
        "range": {"metadata.time.last_visit": {"gte": NOW - 86_400_000, "format": "epoch_millis"}}
    }


def test_lists_text_and_logic() -> None:
    assert q('profile.segments in ["a", "b"]') == {"terms": {"segments": ["a", "b"]}}
    assert q('profile.traits.email contains "*@x"') == {
        "wildcard": {"traits.email": {"value": "*\\*@x*"}}
    }
    assert q('profile.traits.plan starts with "p"') == {"prefix": {"traits.plan": "p"}}
    query = q('not profile.id exists or (profile.env = "a" and profile.tenant = "t")')
    assert query["bool"]["minimum_should_match"] == 1
    assert query["bool"]["should"][0] == {"bool": {"must_not": [{"exists": {"field": "id"}}]}}
    assert len(query["bool"]["should"][1]["bool"]["filter"]) == 2


def test_keyword_fields_never_match_numbers_or_booleans() -> None:
    assert q("profile.id = 123") == {"match_none": {}}
    assert q('profile.segments in [7, true, "7"]') == {"terms": {"segments": ["7"]}}
    assert q("profile.segments in [7, null]") == {
        "bool": {"must_not": [{"exists": {"field": "segments"}}]}
    }


def test_elasticsearch_has_no_wildcard_inside_free_form_fields() -> None:
    with pytest.raises(ConditionNotSearchable, match="Elasticsearch"):
        q('profile.traits.email contains "@x"', "elasticsearch")
    assert q('profile.segments contains "v"', "elasticsearch") == {
        "wildcard": {"segments": {"value": "*v*"}}
    }
    assert q('profile.traits.plan starts with "p"', "elasticsearch") == {
        "prefix": {"traits.plan": "p"}
    }


def test_whole_number_fields_and_fractions() -> None:
    assert q("profile.stats.visits = 3.5") == {"match_none": {}}
    assert q("profile.stats.visits = 3.0") == {"term": {"stats.visits": 3}}
    assert q("profile.stats.visits in [1.5, 2]") == {"term": {"stats.visits": 2}}


def test_typed_fields_never_match_text() -> None:
    assert q('profile.stats.visits = "3"') == {"match_none": {}}
    assert q('profile.stats.visits contains "3"') == {"match_none": {}}
    assert q('profile.metadata.time.last_visit > "2026"') == {"match_none": {}}


@pytest.mark.parametrize(
    "text",
    [
        "profile.traits.age > 30",  # free-form numbers are keywords to the engine
        "profile.traits.signed_up > now - 7d",
        'event.type = "purchase"',
        "session.events > 1",
        "profile.nosuchfield = 1",
    ],
)
def test_refuses_what_the_engine_would_answer_differently(text: str) -> None:
    with pytest.raises(ConditionNotSearchable):
        q(text)


def _mapped(properties: dict, prefix: str = "") -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, body in properties.items():
        if "properties" in body:
            fields.update(_mapped(body["properties"], f"{prefix}{name}."))
        else:
            fields[f"{prefix}{name}"] = body["type"]
    return fields


@pytest.mark.parametrize("engine", ["elasticsearch", "opensearch"])
def test_field_kinds_follow_the_profile_template(engine: str) -> None:
    template = profiles_template(alias="a", engine=engine, shards=1, replicas=0)  # type: ignore[arg-type]
    mapped = _mapped(template["template"]["mappings"]["properties"])
    kinds = {"keyword": "keyword", "long": "long", "date": "date"}
    expected = {name: kinds.get(kind, "flat") for name, kind in mapped.items()}
    # counts are indexed as flat fields; the compiler also knows their values are counts
    assert expected == {k: "flat" if v == "counts" else v for k, v in PROFILE_FIELDS.items()}
