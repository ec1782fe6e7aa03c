"""Keeps secrets out of log lines, whatever code logs.

Three layers, applied to every record by :class:`RedactingFilter`:

1. by field name: a dict, dataclass or pydantic model passed as a log argument (or as
   ``extra``) has the values of secret-sounding fields (password, token, secret, write
   key, api key, authorization, credentials...) replaced before it is formatted;
2. by registered value: the secrets a process knows (its settings' passwords and keys,
   every value it seals or opens: destination credentials, bridge passwords, signing
   secrets) are registered with :func:`register_secret` and cut out of the formatted
   line and its traceback;
3. by shape: write keys (``hw_``), API keys (``hwk.``), JWTs, ``Bearer``/``Basic``
   credentials, the password of a URL's user info and ``password=...`` pairs.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "MASK",
    "RedactingFilter",
    "redact_object",
    "redact_text",
    "register_secret",
    "register_secrets",
]

MASK = "[redacted]"
MIN_SECRET = 6  # shorter registered values would cut ordinary words out of lines

_FIELD = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|write[_-]?key|authori[sz]ation|"
    r"credential|cookie|private[_-]?key|signing|sealed|tms[_-]?key|sasl",
    re.IGNORECASE,
)
_FIELD_NAMES = (
    r"[\w-]*(?:password|passwd|secret|token|api[_-]?key|write[_-]?key|authorization|"
    r"credentials?|tms[_-]?key)[\w-]*"
)
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(hw_[0-9a-f]{3})[0-9a-f]{29}\b"), r"\1..." + MASK),
    (re.compile(r"\b(hwk\.[^.\s]+\.[^.\s]+\.)[A-Za-z0-9_-]+"), r"\1" + MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"), MASK),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + MASK),
    (re.compile(r"(://[^/\s:@'\"]+):[^@\s/'\"]+@"), r"\1:" + MASK + "@"),
    (
        re.compile(
            r"(?i)(\b" + _FIELD_NAMES + r"""["']?\s*[:=]\s*(?:SecretStr\()?["']?)([^"'\s,}&;)]+)"""
        ),
        r"\1" + MASK,
    ),
)

_lock = threading.Lock()
_values: frozenset[str] = frozenset()
_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Cut ``value`` out of every later log line of this process."""
    global _values, _pattern
    if value is None or len(value) < MIN_SECRET or value in _values:
        return
    with _lock:
        _values = _values | {value}
        ordered = sorted(_values, key=len, reverse=True)  # longest first: no partial cuts
        _pattern = re.compile("|".join(re.escape(v) for v in ordered))


def register_secrets(values: Iterable[str | None]) -> None:
    for value in values:
        register_secret(value)


def redact_text(text: str) -> str:
    """``text`` without registered secrets and without anything shaped like one."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for shape, replacement in _SHAPES:
        text = shape.sub(replacement, text)
    return text


def redact_object(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` whose secret-named fields are masked (containers, dataclasses
    and pydantic models, a few levels deep); anything else is returned as it is."""
    if depth > 6:
        return value
    if isinstance(value, Mapping):
        return {
            k: MASK if isinstance(k, str) and _FIELD.search(k) else redact_object(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):  # a named tuple is logged as a plain one
        items = [redact_object(v, depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}
        return f"{type(value).__name__}({redact_object(fields, depth + 1)})"
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return f"{type(value).__name__}({redact_object(dump(), depth + 1)})"
    return value


_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


class RedactingFilter(logging.Filter):
    """Formats each record's message itself, redacted, so no handler sees the raw one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args
            if isinstance(args, Mapping):
                record.args = redact_object(args)
            else:
                record.args = tuple(redact_object(a) for a in args)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: keep what there is
            message = f"{record.msg} {record.args}"
        record.msg = redact_text(str(message))
        record.args = None
        for name, value in list(vars(record).items()):
            if name in _STANDARD or name.startswith("_"):
                continue
            if _FIELD.search(name):
                setattr(record, name, MASK)
            elif isinstance(value, str):
                setattr(record, name, redact_text(value))
            elif value is not None and not isinstance(value, int | float | bool):
                setattr(record, name, redact_text(str(redact_object(value))))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True
