"""Secrets that flows name: ``{{secret.NAME}}`` placeholders (pure, no I/O).

A secret is stored once per tenant and context (config kind ``secret``, its value
encrypted: ``headwater/adapters/secrets.py``) and only ever named in flows. The flow runner
leaves the placeholders as they are, so no value lands in ``hw.outbound``, a flow debug
run or a log; the destinations stage fills them in right before sending, and only with
secrets the request's own node names in its saved configuration (event data that
carries a placeholder cannot reach another secret).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_SECRET_BYTES",
    "SECRET_KIND",
    "SECRET_NAME_PATTERN",
    "fill_secrets",
    "only_references",
    "secret_names",
]

SECRET_KIND = "secret"  # config entry kind; the entity id is the secret's name
SECRET_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"
MAX_SECRET_BYTES = 8 * 1024
_PLACEHOLDER = re.compile(r"\{\{\s*secret\.([A-Za-z][A-Za-z0-9_.-]{0,63})\s*\}\}")
_SCHEMES = re.compile(r"^\s*(?:(?:bearer|basic|token|digest)\s*)?$", re.I)


def secret_names(value: Any) -> set[str]:
    """Every secret named in a JSON-like value (strings, keys excepted)."""
    if isinstance(value, str):
        return set(_PLACEHOLDER.findall(value)) if "{{" in value else set()
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return set().union(*(secret_names(v) for v in value)) if value else set()
    return set()


def fill_secrets(value: Any, values: Mapping[str, str]) -> Any:
    """``value`` with each ``{{secret.NAME}}`` replaced by ``values[NAME]``; a name
    ``values`` lacks stays a placeholder (callers check :func:`secret_names` first)."""
    if isinstance(value, str):
        if "{{" not in value:
            return value
        return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), value)
    if isinstance(value, Mapping):
        return {k: fill_secrets(v, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [fill_secrets(v, values) for v in value]
    return value


def only_references(text: str) -> bool:
    """``text`` names secrets and holds no credential of its own: placeholders, with at
    most an auth scheme (``Bearer {{secret.x}}``). Shown unmasked on read."""
    rest, count = _PLACEHOLDER.subn("", text)
    return count > 0 and _SCHEMES.match(rest) is not None
