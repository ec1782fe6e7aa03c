"""Conditions come from editors: depth and size are bounded, refused as syntax errors
(422 at the API), never a RecursionError."""

from __future__ import annotations

import pytest

from headwater.core.conditions.parser import MAX_CONDITION_CHARS, MAX_DEPTH, parse
from headwater.core.conditions.predicate import evaluate
from headwater.errors import ConditionSyntaxError


@pytest.mark.parametrize("depth", [500, 990, 2000])
def test_deep_nesting_is_refused(depth: int) -> None:
    with pytest.raises(ConditionSyntaxError, match=f"nested deeper than {MAX_DEPTH}"):
        parse("not " * depth + "profile.traits.a = 1")


def test_nesting_within_the_bound_parses_and_compiles() -> None:
    text = "not " * 40 + "profile.traits.a = 1"
    assert evaluate(text, {"profile": {"traits": {"a": 1}}}, 0) is True


def test_a_long_condition_is_refused() -> None:
    text = " or ".join(f'profile.traits.a = "{i}"' for i in range(2000))
    assert len(text) > MAX_CONDITION_CHARS
    with pytest.raises(ConditionSyntaxError, match="longer than"):
        parse(text)
