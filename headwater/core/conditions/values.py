"""How the language sees stored values: lists are "any element", null is "no value",
equality is typed (``true`` is not ``1``), and moments are epoch milliseconds."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from headwater.core.conditions.ast import Path

__all__ = [
    "MISSING",
    "UNIT_MS",
    "as_millis",
    "comparable",
    "duration_ms",
    "lookup",
    "same",
    "values_at",
]

MISSING: Any = object()
UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")


def duration_ms(text: str) -> int:
    """``7d`` -> milliseconds; ValueError when ``text`` is not a whole number and a unit."""
    found = _DURATION.fullmatch(text)
    if found is None:
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 12h, 7d or 2w")
    return int(found.group(1)) * UNIT_MS[found.group(2)]


def lookup(scope: Mapping[str, Any], path: Path) -> Any:
    """The value at ``path`` in ``scope`` (``{"event": …, "profile": …}``), or MISSING."""
    node: Any = scope.get(path.root, MISSING)
    for key in path.keys:
        if not isinstance(node, Mapping) or key not in node:
            return MISSING
        node = node[key]
    return node


def values_at(scope: Mapping[str, Any], path: Path) -> list[Any]:
    """The values a test looks at: the elements of a list, else the value itself; null,
    missing, empty lists and empty objects give none (as in the search engine)."""
    value = lookup(scope, path)
    if value is MISSING or value is None:
        return []
    if isinstance(value, list):
        return [item for item in value if item is not None]
    if isinstance(value, Mapping) and not value:
        return []
    return [value]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def same(stored: Any, literal: Any) -> bool:
    """Typed equality: booleans equal only booleans, numbers only numbers."""
    if isinstance(stored, bool) or isinstance(literal, bool):
        return isinstance(stored, bool) and isinstance(literal, bool) and stored == literal
    if _number(stored) and _number(literal):
        return bool(stored == literal)
    if isinstance(stored, str) and isinstance(literal, str):
        return stored == literal
    return False


def comparable(stored: Any, literal: Any) -> bool:
    """Whether ``<``/``>`` mean something between the two: numbers with numbers, strings
    with strings."""
    return (_number(stored) and _number(literal)) or (
        isinstance(stored, str) and isinstance(literal, str)
    )


def as_millis(value: Any) -> int | float | None:
    """A stored moment as epoch ms: numbers are taken as epoch ms, strings as ISO 8601;
    anything else is not a moment."""
    if _number(value):
        return value  # type: ignore[no-any-return]
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    return None
