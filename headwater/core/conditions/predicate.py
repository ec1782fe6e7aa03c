"""Compiler 1: a condition to a Python predicate over documents (real time, in agents).

``predicate(scope, now_ms)``: ``scope`` maps ``event``, ``profile`` (the profile
document, as ``Profile.snapshot()``), ``session`` (and in flows ``payload``, ``memory``)
to dicts; ``now_ms`` is the event time in epoch ms, never the wall clock. A missing
path makes a test false; nothing raises.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from headwater.core.conditions.ast import (
    All,
    Any_,
    Compare,
    Condition,
    Contains,
    Exists,
    In,
    Not,
    StartsWith,
    TimeValue,
)
from headwater.core.conditions.parser import parse
from headwater.core.conditions.values import as_millis, comparable, same, values_at

__all__ = ["Predicate", "compile_predicate", "evaluate"]

Predicate = Callable[[Mapping[str, Any], int], bool]

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(node: Compare) -> Predicate:
    path, op, literal = node.path, node.op, node.value
    if literal is None:  # "= null" is "has no value"; "!= null" is "has a value"
        return lambda scope, now: bool(values_at(scope, path)) == (op == "!=")
    if isinstance(literal, TimeValue):
        moment = literal

        def at_time(scope: Mapping[str, Any], now: int) -> bool:
            target = moment.resolve(now)
            found = [m for m in map(as_millis, values_at(scope, path)) if m is not None]
            if op == "=":
                return any(m == target for m in found)
            if op == "!=":
                return bool(found) and all(m != target for m in found)
            return any(_ORDER[op](m, target) for m in found)

        return at_time
    if op == "=":
        return lambda scope, now: any(same(v, literal) for v in values_at(scope, path))
    if op == "!=":

        def differs(scope: Mapping[str, Any], now: int) -> bool:
            found = values_at(scope, path)
            return bool(found) and not any(same(v, literal) for v in found)

        return differs
    order = _ORDER[op]
    return lambda scope, now: any(
        comparable(v, literal) and order(v, literal) for v in values_at(scope, path)
    )


def _compile(node: Condition) -> Predicate:
    match node:
        case Compare():
            return _compare(node)
        case In(path=path, values=literals):
            wanted = [v for v in literals if v is not None]
            allow_none = len(wanted) < len(literals)

            def within(scope: Mapping[str, Any], now: int) -> bool:
                found = values_at(scope, path)
                if allow_none and not found:
                    return True
                return any(same(v, w) for v in found for w in wanted)

            return within
        case Exists(path=path):
            return lambda scope, now: bool(values_at(scope, path))
        case Contains(path=path, text=text):
            return lambda scope, now: any(
                isinstance(v, str) and text in v for v in values_at(scope, path)
            )
        case StartsWith(path=path, text=text):
            return lambda scope, now: any(
                isinstance(v, str) and v.startswith(text) for v in values_at(scope, path)
            )
        case Not(operand=operand):
            inner = _compile(operand)
            return lambda scope, now: not inner(scope, now)
        case All(operands=operands):
            parts = [_compile(o) for o in operands]
            return lambda scope, now: all(p(scope, now) for p in parts)
        case Any_(operands=operands):
            parts = [_compile(o) for o in operands]
            return lambda scope, now: any(p(scope, now) for p in parts)
    raise TypeError(f"not a condition: {node!r}")  # pragma: no cover


def compile_predicate(condition: Condition | str) -> Predicate:
    """The predicate of a parsed condition or of its text (parse errors raise
    ConditionSyntaxError)."""
    return _cached(condition) if isinstance(condition, str) else _compile(condition)


@lru_cache(maxsize=4096)
def _cached(text: str) -> Predicate:
    return _compile(parse(text))


def evaluate(condition: Condition | str, scope: Mapping[str, Any], now_ms: int) -> bool:
    """Shorthand: compile (cached for text) and apply."""
    return compile_predicate(condition)(scope, now_ms)
