"""Search documents made from intake batches (pure: dicts in, dicts out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from headwater.core.records import IntakeBatch, SessionUpdate, json_object
from headwater.core.times import as_datetime

__all__ = [
    "Applied",
    "EventDocument",
    "Resolution",
    "event_documents",
    "iso",
    "session_document",
]


@dataclass(frozen=True, slots=True)
class EventDocument:
    tenant: str
    env: str
    received_at: datetime
    id: str
    body: dict[str, Any]
    size_hint: int  # approximate JSON size, from the raw fields it was made of


@dataclass(frozen=True, slots=True)
class Applied:
    session_id: str | None
    profile_version: int
    errors: tuple[str, ...] = ()  # invalid for its event type: why
    properties: bytes | None = None  # reshaped properties, None when unchanged
    limits: tuple[str, ...] = ()  # profile limits the event reached (core/profiles.py)


@dataclass(frozen=True, slots=True)
class Resolution:
    """What the profile agent decided for a batch: the profile, and for each applied
    event its session and the profile version after it. Events not listed were
    duplicates and get no document."""

    profile_id: str | None
    events: dict[str, Applied]  # event id -> how it was applied


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, the one date format of stored documents."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_documents(
    batch: IntakeBatch, resolution: Resolution | None = None
) -> list[EventDocument]:
    """One document per event; event context overrides the request context key by key.

    With a ``resolution`` the documents carry the resolved profile and session and the
    profile version, and only the applied events are returned.
    """
    received = as_datetime(batch["received_at"])
    inserted = iso(received)
    base_size = 400 + len(batch["context"]) + len(batch["properties"])
    request_context = json_object(batch["context"])
    request_properties = json_object(batch["properties"])
    profile_id = resolution.profile_id if resolution else batch["profile_id"]
    documents = []
    for event in batch["events"]:
        applied = Applied(batch["session_id"], 0)
        if resolution is not None:
            if event["id"] not in resolution.events:
                continue
            applied = resolution.events[event["id"]]
        session_id, version = applied.session_id, applied.profile_version
        profile: dict[str, Any] | None = None
        if profile_id:
            profile = {"id": profile_id, "version": version} if resolution else {"id": profile_id}
        session = {"id": session_id} if session_id else None
        event_context = json_object(event["context"])
        context = {**request_context, **event_context}  # a copy per document
        properties = json_object(applied.properties or event["properties"])
        if request_properties:
            properties = {**request_properties, **properties}
        body = {
            "id": event["id"],
            "type": event["type"],
            "tenant": batch["tenant"],
            "env": batch["env"],
            "channel": batch["channel"],
            "source": {"id": batch["source_id"]},
            "profile": profile,
            "session": session,
            "time": {"create": iso(as_datetime(event["time"])), "insert": inserted},
            "properties": properties,
            "context": context,
            "options": json_object(event["options"]),
            "tags": event["tags"],
            "request": {"ip": batch["ip"], "user_agent": batch["user_agent"]},
            "metadata": {
                "valid": not applied.errors,
                "errors": list(applied.errors),
                "limits": list(applied.limits),
                "profile_less": batch["profile_less"],
            },
        }
        size = base_size + len(event["properties"]) + len(event["context"]) + len(event["options"])
        documents.append(
            EventDocument(batch["tenant"], batch["env"], received, event["id"], body, size)
        )
    return documents


def session_document(
    tenant: str, env: str, profile_id: str | None, session: SessionUpdate
) -> dict[str, Any]:
    """A session as stored: ``session`` is a SessionUpdate record (datetimes, JSON bytes)."""
    start, last = as_datetime(session["start"]), as_datetime(session["last"])
    return {
        "id": session["id"],
        "tenant": tenant,
        "env": env,
        "profile": {"id": profile_id} if profile_id else None,
        "start": iso(start),
        "last": iso(last),
        "duration": (last - start) // timedelta(milliseconds=1),
        "events": session["events"],
        "context": json_object(session["context"]),
    }
