"""Compiler 2: a condition to an Elasticsearch/OpenSearch query over profile documents
(segment sizes and members). Only ``profile.*`` paths; ``now_ms`` is fixed at compile
time by the caller (the moment the search is about).

The query answers exactly as the predicate does on the same documents within the value
space docs/conditions.md describes; where it could not (numeric order over free-form
fields, which the engine indexes as keywords), it refuses with ConditionNotSearchable
instead of answering differently.
"""

from __future__ import annotations

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
    Path,
    Scalar,
    StartsWith,
    TimeValue,
    Value,
)
from headwater.core.conditions.fields import Engine, FieldKind, profile_field
from headwater.core.conditions.parser import parse
from headwater.errors import ConditionNotSearchable

__all__ = ["compile_query"]

Query = dict[str, Any]
MATCH_NONE: Query = {"match_none": {}}
_RANGE = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _exists(field: str) -> Query:
    return {"exists": {"field": field}}


def _not(query: Query) -> Query:
    return {"bool": {"must_not": [query]}}


def _equals(field: str, kind: FieldKind, value: Value, now: int) -> Query:
    """Documents where some value of ``field`` equals ``value`` (typed as the predicate)."""
    if isinstance(value, TimeValue):
        value = value.resolve(now)
        if kind in ("keyword", "flat"):
            raise ConditionNotSearchable(f"{field}: a moment cannot match a keyword value")
    if kind in ("long", "date"):
        if not _number(value):
            return MATCH_NONE  # stored numbers are never equal to text or booleans
        if isinstance(value, float):
            if not value.is_integer():
                return MATCH_NONE  # whole numbers only (Elasticsearch refuses 3.5 for a long)
            value = int(value)
    if kind == "date":
        return {"range": {field: {"gte": value, "lte": value, "format": "epoch_millis"}}}
    if kind == "keyword" and not isinstance(value, str):
        return MATCH_NONE  # ids, segments, tenant, env are text: never equal to 5 or true
    return {"term": {field: value}}


def _order(field: str, kind: FieldKind, op: str, value: Value, now: int, text: str) -> Query:
    bound = value.resolve(now) if isinstance(value, TimeValue) else value
    if kind in ("long", "date"):
        if not _number(bound):
            return MATCH_NONE  # text never orders against stored numbers
        body: dict[str, Any] = {_RANGE[op]: bound}
        if kind == "date":
            body["format"] = "epoch_millis"
        return {"range": {field: body}}
    if isinstance(bound, str):
        return {"range": {field: {_RANGE[op]: bound}}}
    raise ConditionNotSearchable(
        f"{text}: {field} is indexed as text, so the search engine would order numbers "
        "and moments as strings; compare it in a flow or rule instead"
    )


def _compare(node: Compare, now: int) -> Query:
    field, kind = profile_field(node.path)
    if node.value is None:
        return _exists(field) if node.op == "!=" else _not(_exists(field))
    if node.op == "=":
        return _equals(field, kind, node.value, now)
    if node.op == "!=":
        return {
            "bool": {
                "filter": [_exists(field)],
                "must_not": [_equals(field, kind, node.value, now)],
            }
        }
    return _order(field, kind, node.op, node.value, now, node.path.text)


def _within(path: Path, values: tuple[Scalar, ...], now: int) -> Query:
    field, kind = profile_field(path)
    wanted = [v for v in values if v is not None]
    if kind in ("long", "date"):
        options = [_equals(field, kind, v, now) for v in wanted]
        options = [o for o in options if o != MATCH_NONE]
    else:
        if kind == "keyword":  # stored as text: numbers and booleans never match
            wanted = [v for v in wanted if isinstance(v, str)]
        options = [{"terms": {field: wanted}}] if wanted else []
    if None in values:
        options.append(_not(_exists(field)))
    if not options:
        return MATCH_NONE
    if len(options) == 1:
        return options[0]
    return {"bool": {"should": options, "minimum_should_match": 1}}


def _wildcard_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def _text_test(path: Path, query: str, text: str, engine: Engine) -> Query:
    field, kind = profile_field(path)
    if kind in ("long", "date"):
        return MATCH_NONE  # numbers hold no text
    if query == "prefix":
        return {"prefix": {field: text}}
    if kind == "flat" and engine == "elasticsearch":
        raise ConditionNotSearchable(
            f"{path.text}: Elasticsearch cannot search for text inside a free-form field "
            "(no wildcard queries on flattened keys); use starts with, or test it in a flow"
        )
    return {"wildcard": {field: {"value": f"*{_wildcard_escape(text)}*"}}}


def _compile(node: Condition, now: int, engine: Engine) -> Query:
    match node:
        case Compare():
            return _compare(node, now)
        case In(path=path, values=values):
            return _within(path, values, now)
        case Exists(path=path):
            return _exists(profile_field(path)[0])
        case Contains(path=path, text=text):
            return _text_test(path, "wildcard", text, engine)
        case StartsWith(path=path, text=text):
            return _text_test(path, "prefix", text, engine)
        case Not(operand=operand):
            return _not(_compile(operand, now, engine))
        case All(operands=operands):
            return {"bool": {"filter": [_compile(o, now, engine) for o in operands]}}
        case Any_(operands=operands):
            parts = [_compile(o, now, engine) for o in operands]
            return {"bool": {"should": parts, "minimum_should_match": 1}}
    raise TypeError(f"not a condition: {node!r}")  # pragma: no cover


def compile_query(condition: Condition | str, *, now_ms: int, engine: Engine) -> Query:
    """The search query of a condition over profile documents; ``now_ms`` is what ``now``
    means (for segment searches: the moment the caller asks about), ``engine`` the
    search store's dialect (``SearchStore.engine``)."""
    tree = parse(condition) if isinstance(condition, str) else condition
    return _compile(tree, now_ms, engine)
