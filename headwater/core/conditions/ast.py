"""The syntax tree of a condition: frozen dataclasses, shared by both compilers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "All",
    "Any_",
    "Compare",
    "CompareOp",
    "Condition",
    "Contains",
    "Exists",
    "In",
    "Not",
    "Path",
    "Scalar",
    "StartsWith",
    "TimeValue",
    "Value",
    "paths_of",
]

CompareOp = Literal["=", "!=", "<", "<=", ">", ">="]
Scalar: TypeAlias = str | int | float | bool | None

ROOTS = ("event", "profile", "session", "payload", "memory")


@dataclass(frozen=True, slots=True)
class Path:
    """A dotted path; ``root`` is one of ``event``, ``profile``, ``session`` (and, inside
    flows, ``payload`` and ``memory``)."""

    root: str
    keys: tuple[str, ...]

    @property
    def text(self) -> str:
        return ".".join((self.root, *self.keys))


@dataclass(frozen=True, slots=True)
class TimeValue:
    """A moment: ``now`` (the event time) or a fixed date, plus an offset, in epoch ms."""

    base_ms: int | None  # None: now
    offset_ms: int = 0

    def resolve(self, now_ms: int) -> int:
        return (now_ms if self.base_ms is None else self.base_ms) + self.offset_ms


Value: TypeAlias = Scalar | TimeValue


@dataclass(frozen=True, slots=True)
class Compare:
    path: Path
    op: CompareOp
    value: Value


@dataclass(frozen=True, slots=True)
class In:
    path: Path
    values: tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Exists:
    path: Path


@dataclass(frozen=True, slots=True)
class Contains:
    """A string value (or any string element of a list) holds ``text``."""

    path: Path
    text: str


@dataclass(frozen=True, slots=True)
class StartsWith:
    path: Path
    text: str


@dataclass(frozen=True, slots=True)
class Not:
    operand: Condition


@dataclass(frozen=True, slots=True)
class All:
    operands: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Any_:
    operands: tuple[Condition, ...]


Condition: TypeAlias = Compare | In | Exists | Contains | StartsWith | Not | All | Any_


def paths_of(condition: Condition) -> tuple[Path, ...]:
    """Every path the condition reads, in order of appearance."""
    match condition:
        case Not(operand=operand):
            return paths_of(operand)
        case All(operands=operands) | Any_(operands=operands):
            return tuple(p for o in operands for p in paths_of(o))
        case _:
            return (condition.path,)
