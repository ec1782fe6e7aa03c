"""Text: templates, case, regular expressions, splitting and URLs.

Patterns come from flow authors and run on public event data, so they run on RE2
(``google-re2``), whose time is linear in the text: no pattern can stall the worker
(Python's backtracking ``re`` took seconds on ``^(a+)+$``). RE2 has no backreferences
or lookaround; such a pattern is refused when the flow is saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

import re2

from headwater.core.flows.actions.schemas import PATH, STRING, TEXT, obj
from headwater.core.flows.registry import ActionCall, ActionSpec, Output
from headwater.errors import ActionFailed

__all__ = ["ACTIONS"]


def _text_at(call: ActionCall) -> str:
    value = call.read(str(call.config["path"]))
    if not isinstance(value, str):
        raise ActionFailed(f"{call.config['path']} holds {type(value).__name__}, not text")
    return value


def _target(call: ActionCall) -> str:
    return str(call.config.get("to", call.config["path"]))


def _template(call: ActionCall) -> list[Output]:
    call.write(
        str(call.config["to"]), call.state.render(str(call.config["template"]), call.payload)
    )
    return call.passed()


def _lower(call: ActionCall) -> list[Output]:
    call.write(_target(call), _text_at(call).lower())
    return call.passed()


def _upper(call: ActionCall) -> list[Output]:
    call.write(_target(call), _text_at(call).upper())
    return call.passed()


MAX_PATTERN = 1000  # characters of one pattern
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is reported, not written to stderr


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Any:
    """``pattern`` compiled by RE2; ActionFailed with the reason when it cannot be."""
    if len(pattern) > MAX_PATTERN:
        raise ActionFailed(f"pattern: longer than {MAX_PATTERN} characters")
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else "invalid"
        reason = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
        raise ActionFailed(f"pattern: {reason} (patterns use RE2 syntax)") from exc


def _check_pattern(config: Mapping[str, Any]) -> list[str]:
    try:
        compile_pattern(str(config["pattern"]))
    except ActionFailed as exc:
        return [str(exc)]
    return []


def _pattern(call: ActionCall) -> Any:
    return compile_pattern(str(call.config["pattern"]))


def _regex_match(call: ActionCall) -> list[Output]:
    value = call.read(str(call.config["path"]))
    found = _pattern(call).search(value) if isinstance(value, str) else None
    if found is None:
        return call.passed("unmatched")
    if "to" in call.config:
        groups: Any = found.groupdict() or list(found.groups()) or found.group(0)
        call.write(str(call.config["to"]), groups)
    return call.passed("matched")


def _regex_replace(call: ActionCall) -> list[Output]:
    replaced = _pattern(call).sub(str(call.config.get("replacement", "")), _text_at(call))
    call.write(_target(call), replaced)
    return call.passed()


def _split(call: ActionCall) -> list[Output]:
    parts = _text_at(call).split(str(call.config.get("separator", ",")))
    if call.config.get("strip", True):
        parts = [p.strip() for p in parts]
    call.write(str(call.config["to"]), [p for p in parts if p])
    return call.passed()


def _parse_url(call: ActionCall) -> list[Output]:
    parts = urlsplit(_text_at(call))
    query = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(parts.query).items()}
    call.write(
        str(call.config["to"]),
        {
            "scheme": parts.scheme,
            "host": parts.hostname or "",
            "port": parts.port,
            "path": parts.path,
            "query": query,
            "fragment": parts.fragment,
        },
    )
    return call.passed()


ACTIONS = [
    ActionSpec(
        "template",
        "data",
        "Renders a text with {{ path }} placeholders into a path.",
        _template,
        obj(("template", "to"), template=TEXT, to=PATH),
    ),
    ActionSpec(
        "lowercase",
        "data",
        "Lower-cases the text at a path.",
        _lower,
        obj(("path",), path=PATH, to=PATH),
    ),
    ActionSpec(
        "uppercase",
        "data",
        "Upper-cases the text at a path.",
        _upper,
        obj(("path",), path=PATH, to=PATH),
    ),
    ActionSpec(
        "regex-match",
        "data",
        "Routes to matched or unmatched; writes the groups to `to`.",
        _regex_match,
        obj(("path", "pattern"), path=PATH, pattern=STRING, to=PATH),
        outputs=("matched", "unmatched"),
        check=_check_pattern,
    ),
    ActionSpec(
        "regex-replace",
        "data",
        "Replaces every match of a pattern.",
        _regex_replace,
        obj(("path", "pattern"), path=PATH, pattern=STRING, replacement=TEXT, to=PATH),
        check=_check_pattern,
    ),
    ActionSpec(
        "split-string",
        "data",
        "Splits a text into a list.",
        _split,
        obj(("path", "to"), path=PATH, separator=STRING, strip={"type": "boolean"}, to=PATH),
    ),
    ActionSpec(
        "parse-url",
        "data",
        "Splits a URL into scheme, host, port, path, query and fragment.",
        _parse_url,
        obj(("path", "to"), path=PATH, to=PATH),
    ),
]
