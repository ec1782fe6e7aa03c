"""Data manipulation: set, copy, delete and append values, arithmetic, value mapping,
hashing, masking, deterministic ids and dates (all relative to the event time)."""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from headwater.core.conditions.values import UNIT_MS, as_millis
from headwater.core.flows.actions.schemas import ANY, NUMBER_VALUE, PATH, VALUE, obj
from headwater.core.flows.registry import ActionCall, ActionSpec, Output
from headwater.errors import ActionFailed

__all__ = ["ACTIONS"]


def _set(call: ActionCall) -> list[Output]:
    call.write(str(call.config["path"]), call.value("value"))
    return call.passed()


def _copy(call: ActionCall) -> list[Output]:
    call.write(str(call.config["to"]), call.read(str(call.config["from"])))
    return call.passed()


def _delete(call: ActionCall) -> list[Output]:
    call.state.delete(str(call.config["path"]), call.payload)
    return call.passed()


def _append(call: ActionCall) -> list[Output]:
    path = str(call.config["path"])
    current = call.read(path)
    items = list(current) if isinstance(current, list) else ([] if current is None else [current])
    value = call.value("value")
    if value not in items:
        items.append(value)
    call.write(path, items)
    return call.passed()


def _number(call: ActionCall, key: str) -> float | int:
    value = call.value(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ActionFailed(f"{key} is {value!r}, not a number")
    return value


_BINARY: dict[str, Callable[[float, float], float]] = {
    "add": operator.add,
    "subtract": operator.sub,
    "multiply": operator.mul,
    "divide": operator.truediv,
    "min": min,
    "max": max,
}


def _math(call: ActionCall) -> list[Output]:
    operation = call.config["operation"]
    left = _number(call, "left")
    if operation in ("round", "abs"):
        result: float | int = (
            round(left, int(call.config.get("digits", 0))) if operation == "round" else abs(left)
        )
    else:
        right = _number(call, "right")
        if operation == "divide" and right == 0:
            raise ActionFailed("division by zero")
        result = _BINARY[str(operation)](left, right)
    call.write(str(call.config["to"]), result)
    return call.passed()


def _map_value(call: ActionCall) -> list[Output]:
    value = call.read(str(call.config["path"]))
    mapping: dict[str, Any] = dict(call.config["mapping"])
    key = str(value).lower() if isinstance(value, bool) else str(value)
    call.write(str(call.config["to"]), mapping.get(key, call.value("default")))
    return call.passed()


def _hash(call: ActionCall) -> list[Output]:
    value = call.read(str(call.config["path"]))
    if value is None:
        raise ActionFailed(f"nothing to hash at {call.config['path']}")
    salt = str(call.config.get("salt", ""))
    digest = hashlib.new(str(call.config.get("algorithm", "sha256")), (salt + str(value)).encode())
    call.write(str(call.config.get("to", call.config["path"])), digest.hexdigest())
    return call.passed()


def _mask(call: ActionCall) -> list[Output]:
    value = call.read(str(call.config["path"]))
    if not isinstance(value, str):
        raise ActionFailed(f"{call.config['path']} holds no text to mask")
    start, end = int(call.config.get("keep_start", 0)), int(call.config.get("keep_end", 0))
    mask = str(call.config.get("mask", "*"))
    if start + end >= len(value):  # too short to keep anything: hide it all
        masked = mask * len(value)
    else:
        masked = value[:start] + mask * (len(value) - start - end) + value[len(value) - end :]
    call.write(str(call.config.get("to", call.config["path"])), masked)
    return call.passed()


def _uuid(call: ActionCall) -> list[Output]:
    call.write(str(call.config["to"]), call.state.stable_uuid(call.node_id))
    return call.passed()


def _parse_date(call: ActionCall) -> list[Output]:
    value = call.read(str(call.config["path"]))
    millis = as_millis(value)
    if millis is None:
        raise ActionFailed(f"{value!r} is not a date (ISO 8601 or epoch ms)")
    result: Any = int(millis)
    if call.config.get("output", "epoch_ms") == "iso":
        moment = datetime.fromtimestamp(millis / 1000, UTC)
        result = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    call.write(str(call.config["to"]), result)
    return call.passed()


def _time_difference(call: ActionCall) -> list[Output]:
    millis = as_millis(call.read(str(call.config["path"])))
    if millis is None:
        raise ActionFailed(f"{call.config['path']} holds no date")
    unit = UNIT_MS[str(call.config.get("unit", "s"))]
    call.write(str(call.config["to"]), (call.state.now_ms - millis) / unit)
    return call.passed()


_OPS = ["add", "subtract", "multiply", "divide", "min", "max", "round", "abs"]
_HASHES = ["sha256", "sha1", "md5", "sha512"]

ACTIONS = [
    ActionSpec(
        "set-value",
        "data",
        "Sets a path to a value (literal, {path}, or template).",
        _set,
        obj(("path", "value"), path=PATH, value=VALUE),
    ),
    ActionSpec(
        "copy-value",
        "data",
        "Copies the value at one path to another.",
        _copy,
        obj(("from", "to"), **{"from": PATH, "to": PATH}),
    ),
    ActionSpec("delete-value", "data", "Removes a path.", _delete, obj(("path",), path=PATH)),
    ActionSpec(
        "append-value",
        "data",
        "Adds a value to the list at a path, once.",
        _append,
        obj(("path", "value"), path=PATH, value=VALUE),
    ),
    ActionSpec(
        "math",
        "data",
        "Calculates left <operation> right into a path.",
        _math,
        obj(
            ("operation", "left", "to"),
            operation={"enum": _OPS},
            left=NUMBER_VALUE,
            right=NUMBER_VALUE,
            digits={"type": "integer", "minimum": 0},
            to=PATH,
        ),
    ),
    ActionSpec(
        "value-mapping",
        "data",
        "Translates the value at a path through a table.",
        _map_value,
        obj(("path", "mapping", "to"), path=PATH, mapping={"type": "object"}, default=ANY, to=PATH),
    ),
    ActionSpec(
        "hash-value",
        "data",
        "Replaces a value (or writes to `to`) with its hex digest.",
        _hash,
        obj(("path",), path=PATH, algorithm={"enum": _HASHES}, salt={"type": "string"}, to=PATH),
    ),
    ActionSpec(
        "mask-value",
        "data",
        "Hides the middle of a text, keeping some characters at each end.",
        _mask,
        obj(
            ("path",),
            path=PATH,
            keep_start={"type": "integer", "minimum": 0},
            keep_end={"type": "integer", "minimum": 0},
            mask={"type": "string", "minLength": 1, "maxLength": 1},
            to=PATH,
        ),
    ),
    ActionSpec(
        "generate-uuid",
        "data",
        "Writes an id that is the same on every replay of the event.",
        _uuid,
        obj(("to",), to=PATH),
    ),
    ActionSpec(
        "parse-date",
        "data",
        "Reads an ISO 8601 date or epoch ms and writes it as epoch ms or ISO 8601.",
        _parse_date,
        obj(("path", "to"), path=PATH, output={"enum": ["epoch_ms", "iso"]}, to=PATH),
    ),
    ActionSpec(
        "time-difference",
        "data",
        "Writes how long before the event time the date at a path was.",
        _time_difference,
        obj(("path", "to"), path=PATH, unit={"enum": list(UNIT_MS)}, to=PATH),
    ),
]
