"""Tracardi's stored documents as Headwater intake batches (pure).

A Tracardi installation keeps profiles, sessions and events in its search engine, in
indices named ``<prefix>tracardi-profile*``, ``<prefix>tracardi-session*`` and
``<prefix>tracardi-event*`` (Tracardi's domain model: ``tracardi/domain/profile.py``,
``event.py``, ``session.py``). The fields read here:

- **profile**: ``id``; ``ids`` (the ids of profiles merged into it);
  ``metadata.time.insert|create|update``; ``traits``; ``data.pii.firstname|lastname``;
  ``data.contact.email|phone`` (a text, or ``{main, ...}`` in later versions);
  ``data.identifier.id``; the older top-level ``pii.name|surname|email``.
- **event**: ``id``, ``type``, ``metadata.time.insert|create``,
  ``metadata.profile_less``, ``source.id``, ``session.id``, ``profile.id``,
  ``properties``, ``traits``, ``context``, ``tags.values``, ``request``, and the
  ``device``, ``os``, ``app``, ``hit``, ``utm`` objects later versions split out of the
  context.
- **session**: ``id``, ``profile.id``, ``metadata.time.insert``, ``context``,
  ``device``, ``os``, ``app``.

Mapping onto Headwater, ids kept:

- a profile becomes a ``profile-update`` event of that profile (id derived from the
  profile id and its update time), at the profile's last update time: its traits, and
  email, phone, customer id and names for the built-in identify mapping; when Tracardi
  merged other profiles into it (``ids``), an ``alias`` event naming them as
  ``previous_profiles`` follows, so the profile agent merges those (and their events)
  into it, as for a Segment ``alias``;
- an event becomes an event of its profile and session, with its own id, type and
  creation time; its Tracardi source id and event traits travel in ``options.tracardi``;
  Tracardi's split-out context objects are put back under the event's context;
- a session gives the request context of its events (device, os, app and its context),
  so the session Headwater builds from them starts with what Tracardi knew of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from headwater.core.ids import name_id
from headwater.core.imports import ImportTarget, tracker_batches
from headwater.core.intake import Accepted
from headwater.errors import InvalidInput

__all__ = [
    "TRACARDI_INDICES",
    "event_batch",
    "profile_batch",
    "session_context",
]

# entity -> the index name Tracardi gives it, after the installation's prefix
TRACARDI_INDICES = {
    "profile": "tracardi-profile",
    "session": "tracardi-session",
    "event": "tracardi-event",
}
_CONTEXT_OBJECTS = ("device", "os", "app", "hit", "utm")
_TIME = TypeAdapter(datetime)
_NS = bytes.fromhex("9b1c2d3e4f5a4b6c8d7e6f5a4b3c2d1e")


def _profile_event_id(target: ImportTarget, profile_id: str, when: datetime | None) -> str:
    """The profile-update event of a profile as of one update: the same whichever import
    (time range, run) brings it, so importing it twice applies it once."""
    source = target.source
    stamp = when.isoformat() if when else ""
    return name_id(_NS, f"{source.tenant}/{source.env}/{profile_id}/{stamp}")


def _get(document: Any, path: str) -> Any:
    node = document
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _text(value: Any) -> str | None:
    if isinstance(value, dict):  # later versions: {"main": ..., "business": ...}
        value = value.get("main")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None


def _time(document: dict[str, Any], *paths: str) -> datetime | None:
    for path in paths:
        value = _get(document, path)
        if value is None or value == "":
            continue
        try:
            return _TIME.validate_python(value)
        except ValidationError:
            raise InvalidInput(f"{path}: {str(value)[:64]!r} is not a time", field=path) from None
    return None


def _id(document: dict[str, Any], what: str) -> str:
    value = _text(document.get("id"))
    if value is None:
        raise InvalidInput(f"the {what} has no id", field="id")
    return value


def _filled(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "", {}, [])}


def profile_batch(document: dict[str, Any], target: ImportTarget) -> Accepted:
    """A Tracardi profile as a ``profile-update`` event of the same profile id."""
    profile_id = _id(document, "profile")
    when = _time(document, "metadata.time.update", "metadata.time.insert", "metadata.time.create")
    properties = _filled(
        {
            "email": _text(_get(document, "data.contact.email"))
            or _text(_get(document, "pii.email")),
            "phone": _text(_get(document, "data.contact.phone")),
            "customer_id": _text(_get(document, "data.identifier.id")),
            "first_name": _text(_get(document, "data.pii.firstname"))
            or _text(_get(document, "pii.name")),
            "last_name": _text(_get(document, "data.pii.lastname"))
            or _text(_get(document, "pii.surname")),
        }
    )
    traits = document.get("traits")
    properties["traits"] = traits if isinstance(traits, dict) else {}
    event_id = _profile_event_id(target, profile_id, when)
    events: list[dict[str, Any]] = [
        {
            "id": event_id,
            "type": "profile-update",
            "properties": properties,
            "options": {"tracardi": {"entity": "profile"}},
        }
    ]
    merged = [i for i in document.get("ids") or [] if isinstance(i, str) and i and i != profile_id]
    if merged:  # an alias event, as for a Segment alias: the profile agent merges them in
        events.append(
            {
                "id": name_id(_NS, f"{event_id}/alias"),
                "type": "alias",
                "properties": {"previous_profiles": merged},
                "options": {"tracardi": {"entity": "profile"}},
            }
        )
    if when is not None:
        for event in events:
            event["time"] = {"create": when}
    body = {"profile": {"id": profile_id}, "events": events}
    return tracker_batches(body, target, f"profile/{profile_id}")


def session_context(document: dict[str, Any]) -> dict[str, Any]:
    """What a Tracardi session tells about its events' request: its context, with its
    device, os and app."""
    context = document.get("context")
    found = dict(context) if isinstance(context, dict) else {}
    for key in ("device", "os", "app"):
        if isinstance(document.get(key), dict) and document[key]:
            found.setdefault(key, document[key])
    return found


def event_batch(
    document: dict[str, Any], target: ImportTarget, session: dict[str, Any] | None
) -> Accepted:
    """A Tracardi event as an event of its profile and session; ``session`` is the
    Tracardi session document it belongs to, when there is one."""
    event_id = _id(document, "event")
    event_type = _text(document.get("type"))
    if event_type is None:
        raise InvalidInput("the event has no type", field="type")
    when = _time(document, "metadata.time.create", "metadata.time.insert")
    context = document.get("context")
    event_context = dict(context) if isinstance(context, dict) else {}
    for key in _CONTEXT_OBJECTS:
        value = document.get(key)
        if isinstance(value, dict) and _filled(value):
            event_context.setdefault(key, value)
    tags = _get(document, "tags.values")
    properties = document.get("properties")
    event: dict[str, Any] = {
        "id": event_id,
        "type": event_type,
        "properties": properties if isinstance(properties, dict) else {},
        "context": event_context,
        "options": {
            "tracardi": _filled(
                {"source": _text(_get(document, "source.id")), "traits": document.get("traits")}
            )
        },
        "tags": [str(t) for t in tags] if isinstance(tags, list | tuple) else [],
    }
    if when is not None:
        event["time"] = {"create": when}
    profile_id = _text(_get(document, "profile.id"))
    profile_less = profile_id is None or _get(document, "metadata.profile_less") is True
    body: dict[str, Any] = {
        "events": [event],
        "profile_less": profile_less,
        "context": session_context(session) if session else {},
    }
    if not profile_less:
        body["profile"] = {"id": profile_id}
    if (session_id := _text(_get(document, "session.id"))) is not None:
        body["session"] = {"id": session_id}
    return tracker_batches(body, target, f"event/{event_id}")
