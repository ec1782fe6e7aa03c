"""Event validation and reshaping per event type (core/validation.py)."""

from __future__ import annotations

import orjson
import pytest

from headwater.core.validation import MAX_ERRORS, event_type_rules


def props(value: object) -> bytes:
    return orjson.dumps(value)


def test_moves_copy_from_context_and_move_within_properties():
    rules = event_type_rules(
        {
            "event_type": "purchase",
            "moves": {
                "properties.total": "properties.cart.sum",
                "properties.page": "context.page.url",
            },
        }
    )

    checked = rules.check(
        props({"cart": {"sum": 9, "n": 2}}), {"page": {"url": "https://x.example"}}
    )

    assert orjson.loads(checked.properties or b"") == {
        "cart": {"n": 2},
        "total": 9,
        "page": "https://x.example",
    }
    assert checked.errors == []


def test_nothing_to_move_leaves_properties_as_they_were():
    rules = event_type_rules({"event_type": "purchase", "moves": {"properties.a": "properties.b"}})

    checked = rules.check(props({"c": 1}), {})

    assert orjson.loads(checked.properties or b"") == {"c": 1}


def test_schema_errors_name_the_path_and_are_bounded():
    rules = event_type_rules(
        {
            "event_type": "bulk",
            "json_schema": {"type": "object", "additionalProperties": {"type": "integer"}},
        }
    )

    checked = rules.check(props({f"f{i:02d}": "x" for i in range(30)}), {})

    assert len(checked.errors) == MAX_ERRORS
    assert checked.errors[0] == "properties/f00: 'x' is not of type 'integer'"
    assert checked.properties is None  # no moves: unchanged


def test_rules_apply_to_their_type_and_source():
    rules = event_type_rules({"event_type": "purchase", "source_id": "web"})

    assert rules.applies_to("purchase", "web")
    assert not rules.applies_to("purchase", "app")
    assert not rules.applies_to("refund", "web")


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"event_type": "x", "json_schema": {"type": "no-such-type"}},
        {"event_type": "x", "moves": {"traits.a": "properties.a"}},
        {"event_type": "x", "moves": {"properties.a": "options.a"}},
    ],
)
def test_bad_configuration_is_refused_with_a_reason(data):
    with pytest.raises(ValueError):
        event_type_rules(data)
