"""Avro binary encoding compiled from a schema into nested closures.

fastavro's writer walks the schema for every record it writes; for the records on the
hot paths (an intake batch per collector request, processed batches and snapshots per
worker batch) that walk cost as much as the data: a 1-event intake batch took ~11 us,
20 events ~75 us. The closures here know their field order and types in advance and
take 0.6-0.7 of that (``python -m bench.codec``). They cover the Avro the schemas in
``headwater/schemas`` use: records, strings, bytes, longs and ints (with
``timestamp-millis``), booleans, null, unions, arrays and maps. The bytes are the
same as fastavro's (tests/unit/test_avro_writer.py checks every schema with generated
records); fastavro stays the reader.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["Write", "compile_writer", "encode_long"]

Out = list[bytes]
Write = Callable[[Any, Out], None]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


def _zigzag(n: int) -> bytes:
    if not _LONG_MIN <= n <= _LONG_MAX:
        raise OverflowError(f"{n} does not fit an Avro long")
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL = tuple(_zigzag(n) for n in range(1 << 14))  # lengths and small counts


def encode_long(n: int) -> bytes:
    """Avro's zig-zag varint of ``n``."""
    if type(n) is not int and not isinstance(n, int):  # bools pass, as with fastavro
        raise TypeError(f"{n!r} is not an integer")
    if 0 <= n < 16384:
        return _SMALL[n]
    return _zigzag(n)


def _millis(value: Any) -> int:
    """``timestamp-millis`` as fastavro computes it: naive datetimes are UTC."""
    if isinstance(value, datetime):
        delta = value - (_EPOCH if value.tzinfo is not None else _EPOCH_NAIVE)
        return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
    return value  # type: ignore[no-any-return]


def _string(value: str, out: Out) -> None:
    data = value.encode()
    out.append(encode_long(len(data)))
    out.append(data)


def _bytes(value: bytes, out: Out) -> None:
    if not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{type(value).__name__} is not bytes")
    out.append(encode_long(len(value)))
    out.append(bytes(value))


def _long(value: int, out: Out) -> None:
    out.append(encode_long(value))


def _boolean(value: bool, out: Out) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{value!r} is not a boolean")
    out.append(b"\x01" if value else b"\x00")


def _null(value: None, out: Out) -> None:
    if value is not None:
        raise TypeError(f"{value!r} is not null")


_PRIMITIVES: dict[str, Write] = {
    "string": _string,
    "bytes": _bytes,
    "long": _long,
    "int": _long,
    "boolean": _boolean,
    "null": _null,
}

# what a union branch accepts, to pick the branch for a value as fastavro does
_ACCEPTS: dict[str, Callable[[Any], bool]] = {
    "null": lambda v: v is None,
    "string": lambda v: isinstance(v, str),
    "bytes": lambda v: isinstance(v, (bytes, bytearray)),
    "long": lambda v: isinstance(v, (int, datetime)),
    "int": lambda v: isinstance(v, int),
    "boolean": lambda v: isinstance(v, bool),
    "record": lambda v: isinstance(v, Mapping),
    "map": lambda v: isinstance(v, Mapping),
    "array": lambda v: isinstance(v, (list, tuple)),
}


def compile_writer(schema: Any) -> Write:
    """``write(record, out)`` appending the Avro binary of ``record`` to ``out``."""
    return _compile(schema, {}, "")


def _compile(schema: Any, named: dict[str, Write], namespace: str) -> Write:
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return _PRIMITIVES[schema]
        full = schema if "." in schema or not namespace else f"{namespace}.{schema}"
        reference = named.get(full) or named.get(schema)
        if reference is None:
            raise ValueError(f"unknown Avro type {schema!r}")
        return reference
    if isinstance(schema, list):
        return _union(schema, named, namespace)
    kind = schema["type"]
    if kind == "record":
        return _record(schema, named, namespace)
    if kind == "array":
        return _array(_compile(schema["items"], named, namespace))
    if kind == "map":
        return _map(_compile(schema["values"], named, namespace))
    if kind in ("long", "int") and schema.get("logicalType") == "timestamp-millis":
        return lambda value, out: out.append(encode_long(_millis(value)))
    if kind in _PRIMITIVES:
        return _PRIMITIVES[kind]
    raise ValueError(f"Avro type {kind!r} is not supported by the compiled writer")


def _record(schema: Mapping[str, Any], named: dict[str, Write], namespace: str) -> Write:
    namespace = schema.get("namespace", namespace)
    name = schema["name"]
    full = name if "." in name or not namespace else f"{namespace}.{name}"
    fields: list[tuple[str, Write, bool, Any]] = []

    def write(record: Mapping[str, Any], out: Out) -> None:
        for field, write_field, has_default, default in fields:
            if has_default:
                write_field(record.get(field, default), out)
            else:
                write_field(record[field], out)

    named[full] = named[name] = write  # before the fields: a record may refer to itself
    for field in schema["fields"]:
        fields.append(
            (
                field["name"],
                _compile(field["type"], named, namespace),
                "default" in field,
                field.get("default"),
            )
        )
    return write


def _array(item: Write) -> Write:
    def write(values: list[Any], out: Out) -> None:
        if not isinstance(values, (list, tuple)):
            raise TypeError(f"{type(values).__name__} is not an array")
        if values:
            out.append(encode_long(len(values)))
            for value in values:
                item(value, out)
        out.append(b"\x00")

    return write


def _map(value_writer: Write) -> Write:
    def write(values: Mapping[str, Any], out: Out) -> None:
        if not isinstance(values, Mapping):
            raise TypeError(f"{type(values).__name__} is not a map")
        if values:
            out.append(encode_long(len(values)))
            for key, value in values.items():
                _string(key, out)
                value_writer(value, out)
        out.append(b"\x00")

    return write


def _union(branches: list[Any], named: dict[str, Write], namespace: str) -> Write:
    compiled = [
        (
            encode_long(index),
            _ACCEPTS[_kind(branch, named)],
            _compile(branch, named, namespace),
        )
        for index, branch in enumerate(branches)
    ]
    if len(compiled) == 2 and branches[0] == "null":  # the common optional field
        other = compiled[1][2]

        def optional(value: Any, out: Out) -> None:
            if value is None:
                out.append(b"\x00")
            else:
                out.append(b"\x02")
                other(value, out)

        return optional

    def write(value: Any, out: Out) -> None:
        for index, accepts, branch in compiled:
            if accepts(value):
                out.append(index)
                branch(value, out)
                return
        raise TypeError(f"{value!r} fits no branch of the union")

    return write


def _kind(branch: Any, named: dict[str, Write]) -> str:
    if isinstance(branch, str):
        return branch if branch in _PRIMITIVES else "record"
    if isinstance(branch, dict):
        return str(branch["type"]) if branch["type"] in _ACCEPTS else "record"
    raise ValueError(f"a union inside a union: {branch!r}")
