"""Compiler 2: a condition to an Elasticsearch/OpenSearch query over profile documents
(segment sizes and members). Only ``profile.*`` paths; ``now_ms`` is fixed at compile
time by the caller (the moment the search is about).

The query answers exactly as the predicate does on the same documents within the value
space docs/conditions.md describes; where it could not (numeric order over free-form
fields, which the engine indexes as keywords), it refuses with ConditionNotSearchable
instead of answering differently. Counts (``stats.by_type.*``) are keywords too, but
always whole numbers from 0 up, so an order test over them becomes a test against the
finite set of counts below the bound (up to MAX_LISTED_COUNT).
"""

from __future__ import annotations

import math
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
from headwater.core.conditions.fields import PROFILE_FIELDS, Engine, FieldKind, profile_field
from headwater.core.conditions.parser import parse
from headwater.errors import ConditionNotSearchable

__all__ = ["MAX_LISTED_COUNT", "compile_query"]

Query = dict[str, Any]
MATCH_NONE: Query = {"match_none": {}}
_RANGE = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
_NUMERIC = ("long", "date", "counts")  # kinds whose stored values are never text
# The largest bound an order test over counts may name: the query lists every count
# from 0 to the bound.
MAX_LISTED_COUNT = 1000


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _exists(field: str, kind: FieldKind, engine: Engine) -> Query:
    """Documents with a value at ``field``. OpenSearch 2.x answers ``exists`` on a key
    inside a ``flat_object`` by the last key's name wherever it sits (``traits.city``
    matches ``traits.address.city``; a nested path matches nothing: opensearch-project/
    OpenSearch#11748); an empty prefix asks for the exact path."""
    if engine == "opensearch" and kind in ("flat", "counts") and field not in PROFILE_FIELDS:
        return {"prefix": {field: ""}}
    return {"exists": {"field": field}}


def _not(query: Query) -> Query:
    return {"bool": {"must_not": [query]}}


def _equals(field: str, kind: FieldKind, value: Value, now: int) -> Query:
    """Documents where some value of ``field`` equals ``value`` (typed as the predicate)."""
    if isinstance(value, TimeValue):
        value = value.resolve(now)
        if kind in ("keyword", "flat", "counts"):
            raise ConditionNotSearchable(f"{field}: a moment cannot match a keyword value")
    if kind == "counts":
        count = _count(value)
        return MATCH_NONE if count is None else {"term": {field: str(count)}}
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


def _count(value: Value) -> int | None:
    """``value`` as a count (a whole number from 0), or None when no count equals it."""
    if not _number(value) or value < 0:  # type: ignore[operator]
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)  # type: ignore[arg-type]


def _counts_order(field: str, op: str, bound: float, text: str, engine: Engine) -> Query:
    """Counts where ``count <op> bound``: the counts 0..top are listed (those below for
    < and <=; for > and >= the complement of those not above)."""
    top = math.floor(bound) if op in ("<=", ">") else math.ceil(bound) - 1
    if top > MAX_LISTED_COUNT:
        raise ConditionNotSearchable(
            f"{text}: counts are indexed as text, so a search compares them by listing "
            f"every count up to the bound, at most {MAX_LISTED_COUNT}; use a smaller "
            "bound or test it in a flow or rule"
        )
    listed = [str(n) for n in range(top + 1)]
    if op in ("<", "<="):
        return {"terms": {field: listed}} if listed else MATCH_NONE
    present = _exists(field, "counts", engine)
    if not listed:
        return present
    return {"bool": {"filter": [present], "must_not": [{"terms": {field: listed}}]}}


def _order(
    field: str, kind: FieldKind, op: str, value: Value, now: int, text: str, engine: Engine
) -> Query:
    if kind == "counts":
        if isinstance(value, TimeValue):
            raise ConditionNotSearchable(f"{text}: {field} holds counts, not moments")
        if not _number(value):
            return MATCH_NONE  # text never orders against stored numbers
        return _counts_order(field, op, value, text, engine)  # type: ignore[arg-type]
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


def _compare(node: Compare, now: int, engine: Engine) -> Query:
    field, kind = profile_field(node.path)
    present = _exists(field, kind, engine)
    if node.value is None:
        return present if node.op == "!=" else _not(present)
    if node.op == "=":
        return _equals(field, kind, node.value, now)
    if node.op == "!=":
        return {"bool": {"filter": [present], "must_not": [_equals(field, kind, node.value, now)]}}
    return _order(field, kind, node.op, node.value, now, node.path.text, engine)


def _within(path: Path, values: tuple[Scalar, ...], now: int, engine: Engine) -> Query:
    field, kind = profile_field(path)
    wanted = [v for v in values if v is not None]
    if kind in _NUMERIC:
        options = [_equals(field, kind, v, now) for v in wanted]
        options = [o for o in options if o != MATCH_NONE]
    else:
        if kind == "keyword":  # stored as text: numbers and booleans never match
            wanted = [v for v in wanted if isinstance(v, str)]
        options = [{"terms": {field: wanted}}] if wanted else []
    if None in values:
        options.append(_not(_exists(field, kind, engine)))
    if not options:
        return MATCH_NONE
    if len(options) == 1:
        return options[0]
    return {"bool": {"should": options, "minimum_should_match": 1}}


def _wildcard_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def _text_test(path: Path, query: str, text: str, engine: Engine) -> Query:
    field, kind = profile_field(path)
    if kind in _NUMERIC:
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
            return _compare(node, now, engine)
        case In(path=path, values=values):
            return _within(path, values, now, engine)
        case Exists(path=path):
            return _exists(*profile_field(path), engine)
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
