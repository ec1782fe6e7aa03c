"""One processed record per profile (profile-less: per key) per stage batch.

The profile stage applies a profile's messages one by one; what each one applied (a
:class:`Part`: its intake message as read, the events applied of it, the sessions it
changed) is gathered by a :class:`Coalesced` and sent as one ``ProcessedBatch``
(``processed_batch.avsc`` version 5) when the profile's run of messages ends: at the end
of the stage's batch, or before a profile operation, so a profile's records keep their
order around a merge or a forget. A record carries the messages in log order, each with
its applied events, and every session they changed once, as it stood after the last of
them. One record instead of one per message saves the encoding, the send and the
acknowledgement of each, and the storage stage writes each session once per record.

A record is cut at ``limit`` bytes (``worker_max_record_bytes``): the messages that would
pass it go into the next record for the same key. Sizes are bounded from above without
encoding (:func:`part_bytes`, :func:`session_bytes`: every length counted at its
longest varint, every character at 4 bytes), so a cut record never passes the limit. A
message whose part is over the limit on its own is found before it is kept
(:meth:`Coalesced.oversized`, which encodes it alone when the bound says it may be) and
dead-lettered as any other oversized output.

A part is encoded only in its record, after the message was kept: its fields are what
the fold made (strings, longs, bytes), so a record that does not fit its schema is a
bug, not a message's fault; it is raised (the worker stops before the batch is
acknowledged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from headwater.core.profiles import BatchResult, FoldRules, check_event
from headwater.core.records import (
    AppliedEvent,
    IntakeBatch,
    ProcessedBatch,
    ProcessedMessage,
    SessionUpdate,
    json_object,
)
from headwater.streams.pipeline_records import PipelineRecords, Record

__all__ = ["Coalesced", "Part", "part_bytes", "session_bytes"]

_HEADER = 10  # C3 01 and the 8-byte fingerprint
_VARINT = 5  # a length or a count (below 2**31) takes at most 5 bytes
_LONG = 10  # a long takes at most 10


def _text(value: str) -> int:
    return _VARINT + 4 * len(value)  # UTF-8 takes at most 4 bytes a character


def _optional_text(value: str | None) -> int:
    return 1 + (0 if value is None else _text(value))


def _texts(values: list[str]) -> int:
    return 2 * _VARINT + sum(_text(v) for v in values)  # count, items, end of array


def _event_bytes(event: AppliedEvent) -> int:
    properties = event["properties"]
    return (
        _text(event["id"])
        + _optional_text(event["session_id"])
        + _LONG
        + _texts(event["errors"])
        + 1
        + (0 if properties is None else _VARINT + len(properties))
        + _texts(event["limits"])
    )


def part_bytes(intake: bytes, events: list[AppliedEvent]) -> int:
    """At least the bytes a message with ``events`` takes in a record's ``messages``."""
    return _VARINT + len(intake) + 2 * _VARINT + sum(_event_bytes(e) for e in events)


def session_bytes(session: SessionUpdate) -> int:
    """At least the bytes ``session`` takes in a record's ``sessions``."""
    return (
        _text(session["id"])
        + 3 * _LONG
        + _VARINT
        + len(session["context"])
        + _optional_text(session["merged_into"])
    )


def _record_bytes(profile_id: str | None) -> int:
    """At least the bytes of a record with no message and no session."""
    # header, empty intake, profile id, empty events, then sessions and messages arrays
    return _HEADER + 1 + _optional_text(profile_id) + 1 + 4 * _VARINT


@dataclass(frozen=True, slots=True)
class Part:
    """One intake message as the stage applied it, not encoded yet."""

    message: ProcessedMessage
    sessions: list[SessionUpdate]  # changed by this message, as it left them
    size: int  # part_bytes of the message


class Coalesced:
    """The processed records of one key in one stage batch, cut at ``limit`` bytes."""

    def __init__(
        self, records: PipelineRecords, key: bytes, profile_id: str | None, limit: int
    ) -> None:
        self._records = records
        self._key = key
        self._profile_id = profile_id
        self._limit = limit
        self._empty = _record_bytes(profile_id)
        self._messages: list[ProcessedMessage] = []
        self._sessions: dict[str, tuple[SessionUpdate, int]] = {}  # id -> latest, its size
        self._size = self._empty
        self._cut: list[Record] = []
        # a session's context never changes: its JSON is made once per key and batch
        self._contexts: dict[str, tuple[dict[str, Any], bytes]] = {}

    def applied(self, intake: bytes, result: BatchResult) -> Part:
        """What a message folded into the profile (core/profiles.py) sends."""
        events: list[AppliedEvent] = [
            {
                "id": a.event["id"],
                "session_id": a.session_id,
                "profile_version": a.profile_version,
                "errors": a.errors,
                "properties": a.properties,
                "limits": a.limits,
            }
            for a in result.applied
        ]
        sessions: list[SessionUpdate] = [
            {
                "id": s.id,
                "start": s.start,
                "last": s.last,
                "events": s.events,
                "context": self._context(s.id, s.context),
                "merged_into": None,
            }
            for s in result.sessions.values()
        ]
        sessions += [
            {  # only the id, the survivor and a version above the survivor's
                "id": gone,
                "start": result.sessions[survivor].start,
                "last": result.sessions[survivor].last,
                "events": result.sessions[survivor].events,
                "context": b"{}",
                "merged_into": survivor,
            }
            for gone, survivor in result.absorbed.items()
            if survivor in result.sessions
        ]
        return Part({"intake": intake, "events": events}, sessions, part_bytes(intake, events))

    def profile_less(self, intake: bytes, batch: IntakeBatch, rules: FoldRules) -> Part:
        """A profile-less message: its events checked (core/validation.py), nothing
        folded. Raises what a message is at fault for (a context that is no object)."""
        context = json_object(batch["context"], "context")
        events: list[AppliedEvent] = []
        for e in batch["events"]:
            event_context = json_object(e["context"], "events[].context")
            checked = check_event(e, {**context, **event_context}, batch["source_id"], rules)
            events.append(
                {
                    "id": e["id"],
                    "session_id": batch["session_id"],
                    "profile_version": 0,
                    "errors": checked.errors,
                    "properties": checked.properties,
                    "limits": [],
                }
            )
        return Part({"intake": intake, "events": events}, [], part_bytes(intake, events))

    def _context(self, session_id: str, context: dict[str, Any]) -> bytes:
        known = self._contexts.get(session_id)
        if known is not None and known[0] is context:
            return known[1]
        dumped = orjson.dumps(context)
        self._contexts[session_id] = (context, dumped)
        return dumped

    def oversized(self, part: Part | None) -> str | None:
        """Why ``part`` cannot be sent even in a record of its own, or None."""
        if part is None:
            return None
        bound = self._empty + part.size + sum(session_bytes(s) for s in part.sessions)
        if bound <= self._limit:
            return None
        alone = self._record([part.message], part.sessions)
        if len(alone.value) <= self._limit:
            return None
        return (
            f"output to {alone.topic} would be {len(alone.value)} bytes, over "
            f"worker_max_record_bytes ({self._limit}); nothing of it was sent"
        )

    def add(self, part: Part) -> None:
        """``part`` goes into the record being gathered, or starts the next one when it
        would pass the limit."""
        grown = self._growth(part)
        if self._messages and self._size + grown > self._limit:
            self._finish()
            grown = self._growth(part)  # against the new record's (no) sessions
        self._size += grown
        self._messages.append(part.message)
        for session in part.sessions:
            self._sessions[session["id"]] = (session, session_bytes(session))

    def _growth(self, part: Part) -> int:
        grown = part.size
        for session in part.sessions:
            before = self._sessions.get(session["id"])
            grown += session_bytes(session) - (before[1] if before else 0)
        return grown

    def take(self) -> list[Record]:
        """The records gathered so far (none when nothing was added since the last
        take); the next part starts a new record."""
        if self._messages:
            self._finish()
        taken, self._cut = self._cut, []
        return taken

    def _finish(self) -> None:
        sessions = [session for session, _ in self._sessions.values()]
        self._cut.append(self._record(self._messages, sessions))
        self._messages, self._sessions, self._size = [], {}, self._empty

    def _record(self, messages: list[ProcessedMessage], sessions: list[SessionUpdate]) -> Record:
        record: ProcessedBatch = {
            "intake": b"",
            "profile_id": self._profile_id,
            "events": [],
            "sessions": sessions,
            "messages": messages,
        }
        return self._records.processed(self._key, record)
