"""The one condition language of Headwater (DESIGN.md decision 8): parsed once, compiled
to a Python predicate for agents and to a search query for segment counts and members.
docs/conditions.md describes the language."""

from headwater.core.conditions.ast import Condition, Path, TimeValue, paths_of
from headwater.core.conditions.parser import parse
from headwater.core.conditions.predicate import Predicate, compile_predicate, evaluate
from headwater.core.conditions.query import compile_query

__all__ = [
    "Condition",
    "Path",
    "Predicate",
    "TimeValue",
    "compile_predicate",
    "compile_query",
    "evaluate",
    "parse",
    "paths_of",
]
