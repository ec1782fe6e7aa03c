"""Sessions by event time: the pure rules, no I/O.

A session the client names (tracker ``session.id``) is kept as the client says. A session
the collector had to invent is placed by event time: an event joins the session of the
same profile whose activity window (first event - gap .. last event + gap) holds it,
so events that arrive out of order within a session land in it; otherwise it opens a
new session. ``gap`` is 30 minutes by default.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_GAP_MS", "SessionState", "place_event"]

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
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionState:
        return cls(data["id"], data["start"], data["last"], data["events"], data["context"])


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
) -> tuple[SessionState, bool]:
    """The session the event belongs to, updated in place; True when it is new."""
    chosen: SessionState | None = None
    if client_named:
        chosen = next((s for s in sessions if s.id == session_id), None)
    else:
        covering = [s for s in sessions if _covers(s, time, gap)]
        if covering:
            chosen = min(covering, key=lambda s: min(abs(time - s.start), abs(time - s.last)))
    created = chosen is None
    if chosen is None:
        new_id = session_id
        if any(s.id == new_id for s in sessions):  # the assigned id is taken: derive one
            new_id = str(uuid.uuid5(_NS, f"{session_id}/{event_id}"))
        chosen = SessionState(new_id, time, time, 0, _session_context(context))
        if len(sessions) >= KEEP_SESSIONS:  # forget the least recent other session
            sessions.sort(key=lambda s: s.last)
            del sessions[: len(sessions) - KEEP_SESSIONS + 1]
        sessions.append(chosen)
    chosen.start = min(chosen.start, time)
    chosen.last = max(chosen.last, time)
    chosen.events += 1
    return chosen, created


def _session_context(context: dict[str, Any]) -> dict[str, Any]:
    """What a session keeps of its first event's context."""
    keep: dict[str, Any] = {}
    for key in ("device", "page", "utm", "browser", "screen", "os", "app"):
        if key in context:
            keep[key] = context[key]
    return keep
