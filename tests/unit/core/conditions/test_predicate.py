"""The Python predicate: typed equality, any-element lists, missing is false, event time."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.core.conditions import compile_predicate, evaluate, parse
from headwater.core.profiles import Profile
from tests.support.condition_cases import NOW, conditions, profile_documents

DAY = 86_400_000


def scope() -> dict[str, Any]:
    profile = Profile.new("acme", "production", "p1")
    profile.traits = {"plan": "pro", "age": 30, "vip": True, "tags": ["a", "b"], "gone": None}
    profile.segments = ["customers"]
    profile.visits = 4
    profile.last_seen = NOW - 3 * DAY
    return {
        "profile": profile.snapshot(),
        "event": {"type": "purchase", "properties": {"total": 99.5, "sku": "SKU-1"}},
        "session": {"id": "s1", "events": 1},
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('profile.traits.plan = "pro"', True),
        ('profile.traits.plan != "pro"', False),
        ("profile.traits.age = 30", True),
        ("profile.traits.age = 30.0", True),
        ('profile.traits.age = "30"', False),  # typed: text is not a number
        ("profile.traits.vip = 1", False),  # typed: true is not 1
        ("profile.traits.vip = true", True),
        ('profile.traits.tags = "b"', True),  # lists: any element
        ('profile.traits.tags != "c"', True),
        ('"customers" in profile.segments', True),
        ('profile.traits.plan in ["basic", "pro"]', True),
        ('profile.traits.plan not in ["basic", "pro"]', False),
        ("profile.traits.gone exists", False),  # null is no value
        ("profile.traits.gone = null", True),
        ("profile.traits.plan != null", True),
        ("profile.traits.nothing in [null]", True),
        ('profile.traits.plan contains "r"', True),
        ('profile.traits.tags contains "a"', True),
        ('profile.traits.plan starts with "pr"', True),
        ('profile.traits.age starts with "3"', False),  # numbers hold no text
        ('profile.traits.plan > "basic"', True),
        ("profile.traits.plan > 3", False),  # text does not order against numbers
        ("profile.stats.visits >= 4 and profile.stats.visits < 5", True),
        ("event.properties.total > 99", True),
        ('event.type = "purchase" and session.events = 1', True),
        ("profile.metadata.time.last_visit > now - 7d", True),
        ("profile.metadata.time.last_visit > now - 2d", False),
        ('profile.metadata.time.last_visit < date("2030-01-01")', True),
    ],
)
def test_tests(text: str, expected: bool) -> None:
    assert evaluate(text, scope(), NOW) is expected


@pytest.mark.parametrize(
    "text",
    [
        "profile.traits.missing = 1",
        "profile.traits.missing != 1",
        "profile.traits.missing > 1",
        'profile.traits.missing contains "a"',
        "profile.traits.missing exists",
        "profile.nothing.at.all.deep < now",
        "event.properties.total.inner = 1",  # through a number
        "payload.x = 1",  # root not in scope
    ],
)
def test_missing_paths_are_false_and_never_raise(text: str) -> None:
    assert evaluate(text, scope(), NOW) is False
    assert evaluate(f"not ({text})", scope(), NOW) is True


def test_now_is_the_event_time_passed_in() -> None:
    predicate = compile_predicate("profile.metadata.time.last_visit > now - 7d")
    data = scope()
    assert predicate(data, NOW) is True
    assert predicate(data, NOW + 30 * DAY) is False


def test_stored_iso_moments_are_read_as_moments() -> None:
    data = {"event": {"properties": {"at": "2025-11-29T06:00:00Z"}}}
    assert evaluate('event.properties.at > date("2025-11-29T05:00:00Z")', data, NOW)
    assert not evaluate("event.properties.at > now + 100d", data, NOW)


@settings(max_examples=200, database=None)
@given(document=profile_documents(), text=conditions)
def test_not_is_the_exact_complement(document: dict[str, Any], text: str) -> None:
    condition = parse(text)
    predicate = compile_predicate(condition)
    negated = compile_predicate(f"not ({text})")
    assert predicate({"profile": document}, NOW) is not negated({"profile": document}, NOW)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3)
    ),
    max_leaves=10,
)
any_path = st.builds(
    lambda root, keys: ".".join([root, *keys]),
    st.sampled_from(["event", "profile", "session"]),
    st.lists(st.sampled_from("abc"), min_size=1, max_size=3),
)
any_test = st.one_of(
    st.builds(
        lambda p, o, v: f"{p} {o} {v}",
        any_path,
        st.sampled_from(["=", "!=", "<", ">="]),
        st.sampled_from(['"a"', "1", "-2.5", "now - 1d", 'date("2025-01-01")']),
    ),
    st.builds(lambda p: f"{p} exists", any_path),
    st.builds(lambda p: f'{p} contains "a"', any_path),
    st.builds(lambda p: f'{p} in ["a", 1, true, null]', any_path),
)


@settings(max_examples=300, database=None)
@given(
    scope=st.fixed_dictionaries({r: json_values for r in ("event", "profile", "session")}),
    text=any_test,
)
def test_any_document_gives_an_answer_never_an_error(scope: dict[str, Any], text: str) -> None:
    assert evaluate(text, scope, NOW) in (True, False)
