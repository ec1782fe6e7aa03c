"""Sessions by event time: the pure rules, no I/O.

A session the client names (tracker ``session.id``) is kept as the client says. A session
the collector had to invent is placed by event time: an event joins the session of the
same profile whose activity window (first event - gap .. last event + gap) holds it,
so events that arrive out of order within a session land in it; otherwise it opens a
new session (a session the client named takes such an event too, but is never merged).
A late event that falls within the windows of two inferred sessions closes the
gap between them: they become one session (the earliest survives, the others are
absorbed), so the result does not depend on arrival order. ``gap`` is 30 minutes by
default.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["DEFAULT_GAP_MS", "Placement", "SessionState", "place_event"]

DEFAULT_GAP_MS = 30 * 60 * 1000
KEEP_SESSIONS = 50  # recent sessions remembered per profile, for late events
_NS = uuid.UUID("0f6b8d0e-3f0c-4c33-9a63-5b0c86f4a1e2")


@dataclass(slots=True)
class SessionState:
    id: str
    start: int  # epoch ms of the earliest event
    last: int  # epoch ms of the latest event
    events: int = 0
    context: dict[str, Any] = field(default_factory=dict)  # device/page/utm of the first event
    named: bool = False  # the client named it: never merged into another session

    @property
    def duration(self) -> int:
        return self.last - self.start

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "start": self.start,
            "last": self.last,
            "events": self.events,
            "context": self.context,
            "named": self.named,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionState:
        return cls(
            data["id"], data["start"], data["last"], data["events"], data["context"], data["named"]
        )


class Placement(NamedTuple):
    session: SessionState  # the event's session, already updated
    created: bool  # a new visit
    absorbed: list[SessionState]  # sessions merged into ``session`` by this event


def _covers(session: SessionState, time: int, gap: int) -> bool:
    return session.start - gap <= time <= session.last + gap


def place_event(
    sessions: list[SessionState],
    *,
    time: int,
    session_id: str,
    client_named: bool,
    event_id: str,
    context: dict[str, Any],
    gap: int = DEFAULT_GAP_MS,
) -> Placement:
    """The session the event belongs to (updated in place), whether it is new, and the
    sessions it absorbed (removed from ``sessions``)."""
    chosen: SessionState | None = None
    absorbed: list[SessionState] = []
    if client_named:
        for session in sessions:  # a plain loop: the hot path of every tracked event
            if session.id == session_id:
                chosen = session
                break
    else:
        covering = sorted(
            (s for s in sessions if _covers(s, time, gap)), key=lambda s: (s.start, s.id)
        )
        named = [s for s in covering if s.named]
        if named:  # a session the client named takes the event; it is never merged
            chosen = named[0]
        elif covering:
            chosen, absorbed = covering[0], covering[1:]
            for other in absorbed:
                chosen.start = min(chosen.start, other.start)
                chosen.last = max(chosen.last, other.last)
                chosen.events += other.events
                sessions.remove(other)
    created = chosen is None
    if chosen is None:
        new_id = session_id
        if any(s.id == new_id for s in sessions):  # the assigned id is taken: derive one
            new_id = str(uuid.uuid5(_NS, f"{session_id}/{event_id}"))
        chosen = SessionState(new_id, time, time, 0, _session_context(context), client_named)
        if len(sessions) >= KEEP_SESSIONS:  # forget the least recent other session
            sessions.sort(key=lambda s: s.last)
            del sessions[: len(sessions) - KEEP_SESSIONS + 1]
        sessions.append(chosen)
    chosen.start = min(chosen.start, time)
    chosen.last = max(chosen.last, time)
    chosen.events += 1
    return Placement(chosen, created, absorbed)


def _session_context(context: dict[str, Any]) -> dict[str, Any]:
    """What a session keeps of its first event's context."""
    keep: dict[str, Any] = {}
    for key in ("device", "page", "utm", "browser", "screen", "os", "app"):
        if key in context:
            keep[key] = context[key]
    return keep
