"""Text to syntax tree. Errors say where (1-based line and column) and what was expected.

>>> parse('profile.traits.plan = "pro" and profile.stats.visits > 3')
All(operands=(Compare(...), Compare(...)))
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, VisitError

from headwater.core.conditions.ast import (
    All,
    Any_,
    Compare,
    Condition,
    Contains,
    Exists,
    In,
    Not,
    Path,
    Scalar,
    StartsWith,
    TimeValue,
)
from headwater.core.conditions.grammar import GRAMMAR
from headwater.core.conditions.values import duration_ms
from headwater.errors import ConditionSyntaxError

__all__ = ["parse"]

_RANGE_OPS = ("<", "<=", ">", ">=")
# Bounds on what a condition may be: conditions come from flow and segment editors, and a
# deeper tree would exhaust the recursion of the compilers (500 nested ``not``).
MAX_CONDITION_CHARS = 10_000
MAX_DEPTH = 64  # levels of the parse tree: nested not, parentheses, and/or
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}

# What the parser's terminal names mean to a person writing a condition.
_FRIENDLY = {
    "PATH": "a path (event.…, profile.…, session.…)",
    "COMPARE": "a comparison (= != < <= > >=)",
    "STRING": "a quoted string",
    "NUMBER": "a number",
    "DURATION": "a duration like 7d, 12h, 30m",
    "SIGN": "+ or -",
    "LPAR": "(",
    "RPAR": ")",
    "LSQB": "[",
    "RSQB": "]",
    "COMMA": ",",
    "_OR": "or",
    "_AND": "and",
    "_NOT": "not",
    "_IN": "in",
    "_EXISTS": "exists",
    "_CONTAINS": "contains",
    "_STARTS": "starts with",
    "_WITH": "with",
    "_NOW": "now",
    "_DATE": "date(…)",
    "_TRUE": "true",
    "_FALSE": "false",
    "_NULL": "null",
    "$END": "end of condition",
}


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", propagate_positions=False, maybe_placeholders=False)


def _unquote(token: Token) -> str:
    body = str(token)[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def _error(message: str, token: Token, expected: tuple[str, ...] = ()) -> ConditionSyntaxError:
    return ConditionSyntaxError(
        message, line=token.line or 1, column=token.column or 1, expected=expected
    )


@v_args(inline=True)
class _ToAst(Transformer[Token, Condition]):
    def or_expr(self, *operands: Condition) -> Condition:
        return Any_(tuple(operands))

    def and_expr(self, *operands: Condition) -> Condition:
        return All(tuple(operands))

    def negation(self, operand: Condition) -> Condition:
        return Not(operand)

    def compare(self, path: Token, op: Token, value: Any) -> Condition:
        if str(op) in _RANGE_OPS and (value is None or isinstance(value, bool)):
            raise _error(f"{op} needs a number, string or moment, not {value!r}", op)
        return Compare(self._path(path), str(op), value)  # type: ignore[arg-type]

    def within(self, path: Token, values: tuple[Scalar, ...]) -> Condition:
        return In(self._path(path), values)

    def not_within(self, path: Token, values: tuple[Scalar, ...]) -> Condition:
        return Not(In(self._path(path), values))

    def member(self, value: Scalar, path: Token) -> Condition:
        return Compare(self._path(path), "=", value)

    def exists(self, path: Token) -> Condition:
        return Exists(self._path(path))

    def contains(self, path: Token, text: Token) -> Condition:
        return Contains(self._path(path), _unquote(text))

    def starts_with(self, path: Token, text: Token) -> Condition:
        return StartsWith(self._path(path), _unquote(text))

    def list(self, *values: Scalar) -> tuple[Scalar, ...]:
        return tuple(v for v in values)

    def now(self, *offsets: int) -> TimeValue:
        return TimeValue(None, sum(offsets))

    def date(self, text: Token, *offsets: int) -> TimeValue:
        try:
            moment = datetime.fromisoformat(_unquote(text))
        except ValueError:
            raise _error(f"date({text}) is not an ISO 8601 date", text) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return TimeValue(int(moment.timestamp() * 1000), sum(offsets))

    def offset(self, sign: Token, duration: Token) -> int:
        value = duration_ms(str(duration))
        return -value if str(sign) == "-" else value

    def string(self, token: Token) -> str:
        return _unquote(token)

    def number(self, token: Token) -> int | float:
        text = str(token)
        return int(text) if re.fullmatch(r"-?\d+", text) else float(text)

    def true(self) -> bool:
        return True

    def false(self) -> bool:
        return False

    def null(self) -> None:
        return None

    @staticmethod
    def _path(token: Token) -> Path:
        root, *keys = str(token).split(".")
        return Path(root, tuple(keys))


def _expected(names: set[str] | frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted({_FRIENDLY.get(name, name) for name in names}))


def _end_of(text: str) -> tuple[int, int]:
    """Line and column just after the last character that is not blank."""
    lines = text.rstrip().split("\n")
    return len(lines), len(lines[-1]) + 1


def _translate(exc: UnexpectedInput, text: str) -> ConditionSyntaxError:
    line, column = exc.line or 1, exc.column or 1
    found = "the end of the condition"
    if isinstance(exc, UnexpectedEOF):
        line, column = _end_of(text)
        expected = _expected(set(exc.expected))
    elif isinstance(exc, UnexpectedCharacters):
        position = exc.pos_in_stream or 0
        found = repr(text[position]) if position < len(text) else found
        expected = _expected(set(exc.allowed or ()))
    else:
        token = getattr(exc, "token", None)
        if token is None or token.type == "$END":
            line, column = _end_of(text)
        else:
            found = repr(str(token))
        expected = _expected(set(getattr(exc, "expected", ()) or ()))
    message = f"unexpected {found}"
    if expected:
        message += f"; expected {' or '.join(expected)}"
    return ConditionSyntaxError(message, line=line, column=column, expected=expected)


@lru_cache(maxsize=4096)
def parse(text: str) -> Condition:
    """The syntax tree of ``text``; raises ConditionSyntaxError. Cached: conditions are
    configuration, parsed again for every event that reaches them."""
    if not text.strip():
        raise ConditionSyntaxError("empty condition", line=1, column=1, expected=("a path",))
    if len(text) > MAX_CONDITION_CHARS:
        raise ConditionSyntaxError(
            f"longer than {MAX_CONDITION_CHARS} characters", line=1, column=1
        )
    try:
        tree = _parser().parse(text)  # LALR: no recursion, whatever the nesting
        if _depth(tree) > MAX_DEPTH:
            raise ConditionSyntaxError(f"nested deeper than {MAX_DEPTH} levels", line=1, column=1)
        return _ToAst().transform(tree)
    except UnexpectedInput as exc:
        raise _translate(exc, text) from None
    except VisitError as exc:
        if isinstance(exc.orig_exc, ConditionSyntaxError):
            raise exc.orig_exc from None
        raise


def _depth(tree: Tree[Token]) -> int:
    """How deep ``tree`` is, counted without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))
    return deepest
