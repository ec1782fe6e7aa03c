"""Segments: a segment is an id and a condition over the profile (docs/conditions.md).

A profile's ``segments`` list records membership. After a profile changes, the agent
calls :func:`segment_changes` with the document before and after: segments whose
condition now holds and that the old document did not list are entered; listed segments
whose condition no longer holds are left. The agent writes ``result.segments`` into the
profile and emits ``segment-entered`` / ``segment-left`` events for the changes.
Segments added by flows (``add-segment``) that have no definition are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from headwater.core.conditions import compile_predicate, parse

__all__ = ["Segment", "SegmentChanges", "segment_changes"]


@dataclass(frozen=True, slots=True)
class Segment:
    id: str
    condition: str
    name: str = ""

    def __post_init__(self) -> None:
        parse(self.condition)  # a definition that does not parse is refused at once


@dataclass(frozen=True, slots=True)
class SegmentChanges:
    entered: tuple[str, ...]
    left: tuple[str, ...]
    segments: list[str]  # the new document's segments list with the changes applied


def _listed(document: Mapping[str, Any] | None) -> list[str]:
    found = document.get("segments") if document is not None else None
    return [str(s) for s in found] if isinstance(found, list) else []


def segment_changes(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    segments: Sequence[Segment],
    now_ms: int,
) -> SegmentChanges:
    """Entered and left segments between two profile documents (``old`` None: a new
    profile); ``now_ms`` is the event time, what ``now`` means in conditions."""
    before = set(_listed(old))
    scope = {"profile": new}
    holds = {s.id for s in segments if compile_predicate(s.condition)(scope, now_ms)}
    defined = [s.id for s in segments]
    entered = tuple(s for s in defined if s in holds and s not in before)
    left = tuple(s for s in defined if s in before and s not in holds)
    current = [s for s in _listed(new) if s not in left]
    current += [s for s in entered if s not in current]
    return SegmentChanges(entered, left, current)
