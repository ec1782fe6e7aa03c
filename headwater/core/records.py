"""The records Headwater puts on its topics, as the code builds and reads them (pure).

Each record's JSON fields (context, properties, options, documents) are bytes holding
a UTF-8 JSON object; :func:`json_object` is how every reader opens one.
"""

from __future__ import annotations

from typing import Any

import orjson

from headwater.errors import SchemaError

__all__ = ["json_object"]

_EMPTY = b"{}"


def json_object(raw: bytes | None, field: str = "field") -> dict[str, Any]:
    """A record's JSON-object field, decoded (the common empty one without parsing).

    A field that is not a JSON object is the record's own fault: SchemaError, whose
    message names ``field``, so the stage that read it dead-letters that message.
    """
    if not raw or raw == _EMPTY:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SchemaError(f"{field} is not a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise SchemaError(f"{field} is not a JSON object but {type(value).__name__}")
    return value
