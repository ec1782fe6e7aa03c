"""Search documents made from intake batches (pure: dicts in, dicts out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

__all__ = ["EventDocument", "event_documents", "iso"]


@dataclass(frozen=True, slots=True)
class EventDocument:
    tenant: str
    env: str
    received_at: datetime
    id: str
    body: dict[str, Any]
    size_hint: int  # approximate JSON size, from the raw fields it was made of


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, the one date format of stored documents."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _loads(raw: bytes) -> dict[str, Any]:
    value = orjson.loads(raw) if raw and raw != b"{}" else {}
    return value if isinstance(value, dict) else {}


def event_documents(batch: dict[str, Any]) -> list[EventDocument]:
    """One document per event; event context overrides the request context key by key."""
    received: datetime = batch["received_at"]
    inserted = iso(received)
    base_size = 400 + len(batch["context"]) + len(batch["properties"])
    request_context = _loads(batch["context"])
    request_properties = _loads(batch["properties"])
    profile = {"id": batch["profile_id"]} if batch["profile_id"] else None
    session = {"id": batch["session_id"]} if batch["session_id"] else None
    documents = []
    for event in batch["events"]:
        event_context = _loads(event["context"])
        context = {**request_context, **event_context}  # a copy per document
        properties = _loads(event["properties"])
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
            "time": {"create": iso(event["time"]), "insert": inserted},
            "properties": properties,
            "context": context,
            "options": _loads(event["options"]),
            "tags": event["tags"],
            "request": {"ip": batch["ip"], "user_agent": batch["user_agent"]},
            "metadata": {"valid": True, "profile_less": batch["profile_less"]},
        }
        size = base_size + len(event["properties"]) + len(event["context"]) + len(event["options"])
        documents.append(
            EventDocument(batch["tenant"], batch["env"], received, event["id"], body, size)
        )
    return documents
