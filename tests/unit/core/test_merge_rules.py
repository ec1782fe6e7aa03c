"""Merge keys and strategies as configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from headwater.core.merge_rules import DEFAULT_BLOCKED_VALUES, MergeRules


def test_defaults() -> None:
    rules = MergeRules(keys=["data.contact.email"])
    assert rules.default == "last_update"
    assert tuple(rules.blocked_values) == DEFAULT_BLOCKED_VALUES
    assert rules.unique_keys == [] and rules.max_merges_per_profile == 100


@pytest.mark.parametrize(
    "fields",
    [
        {"keys": []},
        {"keys": ["email"]},  # not a profile path
        {"keys": ["data.contact.email", "data.contact.email"]},
        {"keys": ["data.contact.email"], "unique_keys": ["data.identifier.customer_id"]},
        {"keys": ["data.contact.email"], "strategies": {"traits.visits": "average"}},
        {"keys": ["data.contact.email"], "strategies": {"visits": "sum"}},
        {"keys": ["data.contact.email"], "surprise": True},
    ],
)
def test_refused(fields: dict) -> None:
    with pytest.raises(ValidationError):
        MergeRules(**fields)


def test_strategies_per_field() -> None:
    rules = MergeRules(
        keys=["data.contact.email", "data.identifier.customer_id"],
        unique_keys=["data.identifier.customer_id"],
        strategies={"traits.visits": "sum", "traits.tags": "union"},
        default="first_update",
    )
    assert rules.strategies["traits.visits"] == "sum"
