"""Segments: a segment is an id and a condition over the profile (docs/conditions.md).

A profile's ``segments`` list records membership. After a profile changes, the agent
calls :func:`segment_changes` with the document before and after: segments whose
condition now holds and that the old document did not list are entered; listed segments
whose condition no longer holds are left. The agent writes ``result.segments`` into the
profile and emits ``segment-entered`` / ``segment-left`` events for the changes.
Segments added by flows (``add-segment``) that have no definition are left alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from headwater.core.conditions import compile_predicate, parse
from headwater.errors import ConditionSyntaxError, FlowInvalid

__all__ = [
    "SEGMENT_ENTERED",
    "SEGMENT_LEFT",
    "Segment",
    "SegmentChanges",
    "segment_changes",
    "segment_events",
    "segment_from_config",
]

SEGMENT_ENTERED = "segment-entered"
SEGMENT_LEFT = "segment-left"
_NS = uuid.UUID("2d1f8f0e-5c7a-4f3e-8a0b-3b7e9c1d2a44")


@dataclass(frozen=True, slots=True)
class Segment:
    id: str
    condition: str
    name: str = ""

    def __post_init__(self) -> None:
        parse(self.condition)  # a definition that does not parse is refused at once


def segment_from_config(data: Mapping[str, Any]) -> Segment:
    """A segment from its configuration entry (``{"id": "vip", "name": "VIPs",
    "condition": "profile.stats.visits > 10"}``); FlowInvalid lists what is wrong."""
    problems: list[str] = []
    segment_id, condition = data.get("id"), data.get("condition")
    if not isinstance(segment_id, str) or not segment_id:
        problems.append("id must be a non-empty string")
    if not isinstance(condition, str):
        problems.append("condition must be a string")
    else:
        try:
            parse(condition)
        except ConditionSyntaxError as exc:
            problems.append(f"condition: {exc}")
    if problems:
        raise FlowInvalid(problems, field=f"segment {segment_id}")
    return Segment(str(segment_id), str(condition), str(data.get("name", "")))


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


def segment_events(
    changes: SegmentChanges,
    *,
    cause_event_id: str,
    now_ms: int,
    cause_depth: int = 0,
    profile_id: str | None = None,
) -> list[dict[str, Any]]:
    """The ``segment-entered`` / ``segment-left`` events of ``changes``, ready to go back
    through intake so rules can trigger on them. Ids derive from the causing event, so a
    replay produces the same ids (and de-duplication drops them). ``cause_depth`` is the
    causing event's own depth (0 for a client's event; see ``cause_depth`` in
    core/flows/actions/events.py), so the agent can cap chains of events. The properties
    name the segment and the profile (``profile_id``): they are what a flow's payload
    and so a webhook's default body are."""
    who = {"profile_id": profile_id} if profile_id is not None else {}
    events = []
    for kind, ids in ((SEGMENT_ENTERED, changes.entered), (SEGMENT_LEFT, changes.left)):
        for segment in ids:
            events.append(
                {
                    "id": str(uuid.uuid5(_NS, f"{cause_event_id}:{kind}:{segment}")),
                    "type": kind,
                    "time": now_ms,
                    "properties": {"segment": segment, **who},
                    "caused_by": {"event": cause_event_id, "depth": cause_depth + 1},
                }
            )
    return events
