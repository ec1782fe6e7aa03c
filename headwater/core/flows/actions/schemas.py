"""JSON Schema pieces the built-in actions share."""

from __future__ import annotations

from typing import Any

__all__ = ["ANY", "DURATION", "NUMBER", "NUMBER_VALUE", "PATH", "STRING", "TEXT", "VALUE", "obj"]

_ROOTS = "event|profile|session|memory|payload"
PATH: dict[str, Any] = {
    "type": "string",
    "pattern": rf"^({_ROOTS})(\.[^.\s]+)+$",
    "description": "a dotted path, e.g. profile.traits.plan",
}
STRING: dict[str, Any] = {"type": "string", "minLength": 1}
TEXT: dict[str, Any] = {"type": "string"}  # may hold {{ path }} placeholders
ANY: dict[str, Any] = {}
NUMBER: dict[str, Any] = {"type": "number"}
# a literal or {"path": "..."} read at run time
VALUE: dict[str, Any] = {
    "anyOf": [
        {"type": "object", "properties": {"path": PATH}, "required": ["path"]},
        {"type": ["string", "number", "boolean", "null", "array", "object"]},
    ]
}
NUMBER_VALUE: dict[str, Any] = {
    "anyOf": [
        {"type": "number"},
        {
            "type": "object",
            "properties": {"path": PATH},
            "required": ["path"],
            "additionalProperties": False,
        },
    ]
}
DURATION: dict[str, Any] = {"type": "string", "pattern": r"^\d+(ms|s|m|h|d|w)$"}


def obj(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema with exactly these properties."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }
