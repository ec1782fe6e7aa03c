"""Event validation and reshaping per event type (pure).

An ``event-type`` configuration entry (per tenant and environment, optionally per
source) can

- **reshape** an event before anything else sees it: ``moves`` maps a target path under
  ``properties.`` to a source path under ``properties.`` or ``context.``; the value is
  copied there and, when it came from ``properties``, removed from where it was;
- **validate** the (reshaped) properties with a JSON Schema (draft 2020-12).

An invalid event is never dropped: it is stored with ``metadata.valid = false`` and the
reasons, counted on its profile, and skips event-to-profile mappings (and workflows).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from headwater.core.mapping import get_path, is_missing
from headwater.core.records import json_object

__all__ = ["EVENT_TYPE_KIND", "MAX_ERRORS", "Checked", "EventTypeRules", "event_type_rules"]

EVENT_TYPE_KIND = "event-type"
MAX_ERRORS = 10


@dataclass(frozen=True, slots=True)
class Checked:
    properties: bytes | None  # the reshaped properties, or None when unchanged
    errors: list[str]


@dataclass(frozen=True)
class EventTypeRules:
    event_type: str
    validator: Draft202012Validator | None = None
    moves: tuple[tuple[str, str], ...] = ()  # (target, source)
    source_id: str | None = None

    def applies_to(self, event_type: str, source_id: str) -> bool:
        return self.event_type == event_type and self.source_id in (None, source_id)

    def check(self, properties: bytes, context: dict[str, Any]) -> Checked:
        data = json_object(properties, "events[].properties")
        reshaped = self._reshape(data, context) if self.moves else None
        if reshaped is not None:
            data = reshaped
        errors: list[str] = []
        if self.validator is not None:
            for error in sorted(self.validator.iter_errors(data), key=lambda e: list(e.path)):
                where = "/".join(str(p) for p in error.path) or "(root)"
                errors.append(f"properties/{where}: {error.message}"[:300])
                if len(errors) == MAX_ERRORS:
                    break
        return Checked(orjson.dumps(reshaped) if reshaped is not None else None, errors)

    def _reshape(self, data: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(data)
        view = {"properties": data, "context": context}
        for target, source in self.moves:
            value = get_path(view, source)
            if is_missing(value):
                continue
            if source.startswith("properties."):
                _delete(out, source.split(".")[1:])
            _put(out, target.split(".")[1:], copy.deepcopy(value))
        return out


def _delete(node: dict[str, Any], parts: list[str]) -> None:
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            return
        node = child
    node.pop(parts[-1], None)


def _put(node: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def event_type_rules(data: dict[str, Any]) -> EventTypeRules:
    """Rules from an ``event-type`` config entry; ValueError says what is wrong.

    ``{"event_type": "purchase", "source_id": null, "json_schema": {...},
    "moves": {"properties.total": "properties.order.total"}}``
    """
    event_type = data.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        raise ValueError("event_type must be a non-empty string")
    schema = data.get("json_schema")
    validator = None
    if schema is not None:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise ValueError(f"schema is not a valid JSON Schema: {exc.message}") from exc
        validator = Draft202012Validator(schema)
    moves = []
    for target, source in (data.get("moves") or {}).items():
        if not str(target).startswith("properties.") or len(str(target).split(".")) < 2:
            raise ValueError(f"move target {target!r} must be a path under properties.")
        if not str(source).startswith(("properties.", "context.")):
            raise ValueError(f"move source {source!r} must start with properties. or context.")
        moves.append((str(target), str(source)))
    source_id = data.get("source_id")
    return EventTypeRules(
        event_type, validator, tuple(moves), source_id if isinstance(source_id, str) else None
    )
