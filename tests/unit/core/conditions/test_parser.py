"""The condition parser: what it builds, and errors that say where and what was expected."""

from __future__ import annotations

import pytest

from headwater.core.conditions import parse
from headwater.core.conditions.ast import (
    All,
    Any_,
    Compare,
    Contains,
    Exists,
    In,
    Not,
    Path,
    StartsWith,
    TimeValue,
)
from headwater.errors import ConditionSyntaxError, InvalidInput

PLAN = Path("profile", ("traits", "plan"))


def test_and_binds_tighter_than_or() -> None:
    tree = parse('profile.traits.plan = "a" or profile.traits.plan = "b" and event.type = "c"')
    assert isinstance(tree, Any_)
    assert tree.operands[0] == Compare(PLAN, "=", "a")
    assert isinstance(tree.operands[1], All)


def test_parentheses_and_not() -> None:
    tree = parse('not (profile.traits.plan = "a" or profile.traits.plan = "b")')
    assert isinstance(tree, Not) and isinstance(tree.operand, Any_)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("profile.stats.visits >= 3", Compare(Path("profile", ("stats", "visits")), ">=", 3)),
        ("profile.traits.score < -1.5", Compare(Path("profile", ("traits", "score")), "<", -1.5)),
        ("profile.traits.vip != true", Compare(Path("profile", ("traits", "vip")), "!=", True)),
        ("profile.traits.plan = null", Compare(PLAN, "=", None)),
        ("profile.traits.plan = 'it\\'s'", Compare(PLAN, "=", "it's")),
        ('profile.traits.plan in ["a", 1, false]', In(PLAN, ("a", 1, False))),
        ('profile.traits.plan not in ["a"]', Not(In(PLAN, ("a",)))),
        ('"vip" in profile.segments', Compare(Path("profile", ("segments",)), "=", "vip")),
        ("session.context.page exists", Exists(Path("session", ("context", "page")))),
        (
            'event.properties.url contains "?q="',
            Contains(Path("event", ("properties", "url")), "?q="),
        ),
        ('profile.traits.plan starts with "pr"', StartsWith(PLAN, "pr")),
        (
            "profile.stats.by_type.page-view > 2",
            Compare(Path("profile", ("stats", "by_type", "page-view")), ">", 2),
        ),
    ],
)
def test_tests(text: str, expected: object) -> None:
    assert parse(text) == expected


def test_keywords_are_case_insensitive() -> None:
    assert parse('NOT profile.traits.plan IN ["a"] AND profile.x EXISTS') == parse(
        'not profile.traits.plan in ["a"] and profile.x exists'
    )


def test_moments_are_relative_to_now_or_a_date() -> None:
    last = Path("profile", ("metadata", "time", "last_visit"))
    assert parse("profile.metadata.time.last_visit > now - 7d + 12h") == Compare(
        last, ">", TimeValue(None, -7 * 86_400_000 + 12 * 3_600_000)
    )
    tree = parse('profile.metadata.time.last_visit < date("2026-01-01T00:00:00Z") - 30m')
    assert tree == Compare(last, "<", TimeValue(1_767_225_600_000, -30 * 60_000))
    assert parse('profile.x < date("2026-01-01")') == Compare(
        Path("profile", ("x",)), "<", TimeValue(1_767_225_600_000, 0)
    )


def test_comments_and_newlines_are_allowed() -> None:
    tree = parse(
        '# members who came back\nprofile.stats.visits > 1\n  and "vip" in profile.segments'
    )
    assert isinstance(tree, All)


def _error(text: str) -> ConditionSyntaxError:
    with pytest.raises(ConditionSyntaxError) as caught:
        parse(text)
    return caught.value


def test_error_at_end_says_what_was_expected() -> None:
    error = _error("profile.traits.plan = ")
    assert (error.line, error.column) == (1, 22)  # just after the "="
    assert "a quoted string" in error.expected and "a number" in error.expected
    assert "line 1, column 22" in str(error)


def test_error_on_a_later_line() -> None:
    error = _error('profile.traits.plan = "a" and\n  (profile.stats.visits > 1')
    assert (error.line, error.column) == (2, 28)  # just after the last "1"
    assert error.expected == (")",)


def test_unknown_root_is_refused_where_it_starts() -> None:
    error = _error('profile.traits.plan = "a" and user.name = "b"')
    assert (error.line, error.column) == (1, 31)
    assert any("path" in e for e in error.expected)


def test_double_equals_points_at_the_second_sign() -> None:
    error = _error("profile.stats.visits == 3")
    assert (error.line, error.column) == (1, 23)


def test_order_against_boolean_or_null_is_refused() -> None:
    error = _error("profile.stats.visits > true")
    assert (error.line, error.column) == (1, 22)
    assert "needs a number" in error.message


def test_bad_date_and_empty_condition() -> None:
    assert _error('profile.x > date("soon")').column == 18
    assert _error("   ").expected == ("a path",)


def test_syntax_errors_are_invalid_input() -> None:
    assert isinstance(_error("profile.x ="), InvalidInput)
    assert _error("profile.x =").status == 422
