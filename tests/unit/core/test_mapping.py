"""Event-to-profile mapping: dotted paths, the three operations and which events apply."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.core.mapping import (
    BUILTIN_MAPPINGS,
    EventMapping,
    FieldMapping,
    get_path,
    is_missing,
    set_path,
)


def profile_doc() -> dict[str, Any]:
    return {"traits": {}, "data": {}, "consents": {}, "interests": {}}


# --- get_path ------------------------------------------------------------------------


def test_get_path_reads_nested_values():
    doc = {"properties": {"email": "a@example.com", "address": {"city": "Kraków"}}}

    assert get_path(doc, "properties.email") == "a@example.com"
    assert get_path(doc, "properties.address.city") == "Kraków"
    assert get_path(doc, "properties.address") == {"city": "Kraków"}


@pytest.mark.parametrize(
    "path",
    [
        "properties.phone",  # missing leaf
        "context.page.url",  # missing root
        "properties.email.domain",  # through a string
        "properties.tags.0",  # lists are not indexed
        "properties.address.city.name",
    ],
)
def test_get_path_on_missing_paths_is_missing(path):
    doc = {"properties": {"email": "a@example.com", "tags": ["x"], "address": {"city": "K"}}}

    assert is_missing(get_path(doc, path))


def test_get_path_tells_null_and_falsy_values_from_missing():
    doc = {"properties": {"none": None, "zero": 0, "empty": "", "no": False}}

    for key in ("none", "zero", "empty", "no"):
        value = get_path(doc, f"properties.{key}")
        assert not is_missing(value)
        assert value == doc["properties"][key]


# --- set_path: equals ----------------------------------------------------------------


def test_equals_sets_creating_parents():
    doc = profile_doc()

    changed = set_path(doc, "data.contact.email", "a@example.com", "equals")

    assert changed is True
    assert doc["data"] == {"contact": {"email": "a@example.com"}}


def test_equals_overwrites_and_reports_no_change_for_the_same_value():
    doc = profile_doc()
    set_path(doc, "traits.plan", "free", "equals")

    assert set_path(doc, "traits.plan", "pro", "equals") is True
    assert doc["traits"]["plan"] == "pro"
    assert set_path(doc, "traits.plan", "pro", "equals") is False
    assert doc["traits"] == {"plan": "pro"}


def test_equals_keeps_siblings():
    doc = profile_doc()
    set_path(doc, "data.contact.email", "a@example.com", "equals")

    set_path(doc, "data.contact.phone", "+48 600 000 000", "equals")

    assert doc["data"]["contact"] == {"email": "a@example.com", "phone": "+48 600 000 000"}


def test_equals_stores_the_value_as_given():
    doc = profile_doc()

    set_path(doc, "traits.zip", "00-950", "equals")
    set_path(doc, "traits.code", "007", "equals")

    assert doc["traits"] == {"zip": "00-950", "code": "007"}
    assert isinstance(doc["traits"]["code"], str)


def test_equals_replaces_a_number_with_an_equal_comparing_boolean():
    doc = profile_doc()
    set_path(doc, "traits.newsletter", 1, "equals")

    changed = set_path(doc, "traits.newsletter", True, "equals")

    assert changed is True
    assert doc["traits"]["newsletter"] is True


# --- set_path: equals_if_not_exists --------------------------------------------------


def test_equals_if_not_exists_sets_a_missing_value():
    doc = profile_doc()

    assert set_path(doc, "traits.first_source", "newsletter", "equals_if_not_exists") is True
    assert doc["traits"]["first_source"] == "newsletter"


@pytest.mark.parametrize("present", ["newsletter", 0, False, ["x"], {"a": 1}])
def test_equals_if_not_exists_does_not_overwrite_a_value(present):
    doc = profile_doc()
    doc["traits"]["first_source"] = present

    changed = set_path(doc, "traits.first_source", "ads", "equals_if_not_exists")

    assert changed is False
    assert doc["traits"]["first_source"] == present


@pytest.mark.parametrize("empty", [None, ""])
def test_equals_if_not_exists_fills_null_and_empty_string(empty):
    doc = profile_doc()
    doc["traits"]["first_source"] = empty

    assert set_path(doc, "traits.first_source", "ads", "equals_if_not_exists") is True
    assert doc["traits"]["first_source"] == "ads"


# --- set_path: append ----------------------------------------------------------------


def test_append_creates_a_list():
    doc = profile_doc()

    assert set_path(doc, "interests.tags", "shoes", "append") is True
    assert doc["interests"]["tags"] == ["shoes"]


def test_append_adds_each_value_once():
    doc = profile_doc()
    set_path(doc, "interests.tags", "shoes", "append")

    assert set_path(doc, "interests.tags", "shoes", "append") is False
    assert set_path(doc, "interests.tags", ["shoes", "hats"], "append") is True
    assert set_path(doc, "interests.tags", ["hats"], "append") is False
    assert doc["interests"]["tags"] == ["shoes", "hats"]


def test_append_to_a_scalar_turns_it_into_a_list():
    doc = profile_doc()
    doc["interests"]["tags"] = "shoes"

    assert set_path(doc, "interests.tags", "hats", "append") is True
    assert doc["interests"]["tags"] == ["shoes", "hats"]


def test_append_of_a_present_value_leaves_a_scalar_alone():
    doc = profile_doc()
    doc["interests"]["tags"] = "shoes"

    assert set_path(doc, "interests.tags", "shoes", "append") is False
    assert doc["interests"]["tags"] == "shoes"


def test_append_over_null_starts_a_fresh_list():
    doc = profile_doc()
    doc["interests"]["tags"] = None

    assert set_path(doc, "interests.tags", "shoes", "append") is True
    assert doc["interests"]["tags"] == ["shoes"]


def test_append_does_not_change_the_list_in_place():
    doc = profile_doc()
    original = ["shoes"]
    doc["interests"]["tags"] = original

    set_path(doc, "interests.tags", "hats", "append")

    assert original == ["shoes"]
    assert doc["interests"]["tags"] == ["shoes", "hats"]


def test_append_of_a_list_with_repeats_adds_each_value_once():
    doc = profile_doc()

    set_path(doc, "interests.tags", ["shoes", "shoes", "hats"], "append")

    assert doc["interests"]["tags"] == ["shoes", "hats"]


def test_other_operations_never_turn_a_scalar_into_a_list():
    doc = profile_doc()
    doc["traits"]["plan"] = "free"

    set_path(doc, "traits.plan", "pro", "equals")
    set_path(doc, "traits.plan", "team", "equals_if_not_exists")

    assert doc["traits"]["plan"] == "pro"


# --- FieldMapping --------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["traits.plan", "data.contact.email", "consents.marketing", "interests.tags"],
)
def test_field_mapping_accepts_profile_targets(target):
    mapping = FieldMapping("properties.x", target)

    assert mapping.target == target
    assert mapping.op == "equals"


@pytest.mark.parametrize(
    "target",
    [
        "traits",  # a whole root, not a field in it
        "data",
        "stats.events",
        "id",
        "version",
        "segments.vip",
        "metadata.time.first_visit",
        "profile.traits.plan",
        "Traits.plan",
        "",
    ],
)
def test_field_mapping_refuses_targets_outside_the_profile_roots(target):
    with pytest.raises(ValueError, match="must be under"):
        FieldMapping("properties.x", target)


@pytest.mark.parametrize("target", ["traits.", "data..email"])
def test_field_mapping_refuses_empty_path_segments(target):
    with pytest.raises(ValueError):
        FieldMapping("properties.x", target)


# --- EventMapping --------------------------------------------------------------------


def test_event_mapping_for_any_source_applies_by_type():
    mapping = EventMapping("identify", (FieldMapping("properties.email", "data.contact.email"),))

    assert mapping.applies_to("identify", "src-web-1") is True
    assert mapping.applies_to("identify", "src-app-2") is True
    assert mapping.applies_to("page-view", "src-web-1") is False
    assert mapping.applies_to("Identify", "src-web-1") is False


def test_event_mapping_for_one_source_applies_only_there():
    mapping = EventMapping(
        "purchase",
        (FieldMapping("properties.plan", "traits.plan"),),
        source_id="src-shop",
    )

    assert mapping.applies_to("purchase", "src-shop") is True
    assert mapping.applies_to("purchase", "src-web-1") is False
    assert mapping.applies_to("refund", "src-shop") is False


def test_a_mapping_of_one_channel_applies_only_to_events_of_that_channel():
    mapping = EventMapping("identify", (), channel="segment")

    assert mapping.applies_to("identify", "src-web-1", "segment") is True
    assert mapping.applies_to("identify", "src-web-1", "track") is False
    assert mapping.applies_to("identify", "src-web-1") is False


def test_builtin_mappings_cover_identity_events_and_merge_traits():
    identity = [m for m in BUILTIN_MAPPINGS if m.event_type != "*" and m.channel is None]
    types = {m.event_type for m in identity}

    assert types == {"identify", "profile-update", "sign-up", "sign-in"}
    for mapping in identity:
        assert mapping.source_id is None
        assert mapping.merge_traits is True
        assert {(f.source, f.target) for f in mapping.fields} >= {
            ("properties.email", "data.contact.email"),
            ("properties.phone", "data.contact.phone"),
            ("properties.customer_id", "data.identifier.customer_id"),
        }


def test_mapping_from_config_builds_the_mapping():
    from headwater.core.mapping import mapping_from_config

    mapping = mapping_from_config(
        {
            "event_type": "purchase",
            "fields": [
                {"source": "properties.total", "target": "traits.last_total"},
                {"source": "properties.sku", "target": "interests.skus", "op": "append"},
            ],
        }
    )

    assert mapping.event_type == "purchase" and mapping.source_id is None
    assert [(f.source, f.target, f.op) for f in mapping.fields] == [
        ("properties.total", "traits.last_total", "equals"),
        ("properties.sku", "interests.skus", "append"),
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"fields": []}, "event_type"),
        ({"event_type": "x", "fields": [{"source": "properties.a", "target": "id"}]}, "under"),
        ({"event_type": "x", "fields": [{"source": "profile.a", "target": "traits.a"}]}, "source"),
        (
            {
                "event_type": "x",
                "fields": [{"source": "properties.a", "target": "traits.a", "op": "x"}],
            },
            "op",
        ),
    ],
)
def test_mapping_from_config_says_what_is_wrong(data, reason):
    from headwater.core.mapping import mapping_from_config

    with pytest.raises(ValueError, match=reason):
        mapping_from_config(data)


def test_a_segment_user_id_on_any_event_is_the_customer_id():
    [every] = [m for m in BUILTIN_MAPPINGS if m.event_type == "*"]

    assert every.applies_to("Order Completed", "any-source")
    assert [(f.source, f.target) for f in every.fields] == [
        ("options.user_id", "data.identifier.customer_id")
    ]
