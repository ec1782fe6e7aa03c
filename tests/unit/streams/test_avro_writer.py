"""The compiled Avro writer (streams/avro_writer.py) writes the bytes fastavro writes, for
every schema in headwater/schemas and records generated from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from fastavro import schemaless_writer
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.schemas import schema_family, schema_names
from headwater.streams.avro_writer import compile_writer, encode_long

LONGS = st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)
MILLIS = st.one_of(
    st.integers(min_value=0, max_value=4_102_444_800_000),
    st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)),  # naive
)


def records(schema: Any, named: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """Values of ``schema``, as the code builds them."""
    named = {} if named is None else named
    if isinstance(schema, str):
        primitive = {
            "string": st.text(max_size=20),
            "bytes": st.binary(max_size=40),
            "long": LONGS,
            "int": st.integers(min_value=-(1 << 31), max_value=(1 << 31) - 1),
            "boolean": st.booleans(),
            "null": st.none(),
        }
        return primitive[schema] if schema in primitive else st.deferred(lambda: named[schema])
    if isinstance(schema, list):
        return st.one_of(*(records(branch, named) for branch in schema))
    kind = schema["type"]
    if kind == "record":
        fields = {f["name"]: records(f["type"], named) for f in schema["fields"]}
        strategy = st.fixed_dictionaries(fields)
        named[schema["name"]] = strategy
        return strategy
    if kind == "array":
        return st.lists(records(schema["items"], named), max_size=3)
    if kind == "map":
        return st.dictionaries(st.text(max_size=8), records(schema["values"], named), max_size=3)
    if schema.get("logicalType") == "timestamp-millis":
        return MILLIS
    return records(kind, named)


VERSIONS = [version for name in schema_names() for version in schema_family(name)]


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"{v.name}-v{v.version}")
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_same_bytes_as_fastavro(version: Any, data: st.DataObject) -> None:
    record = data.draw(records(version.raw))
    expected = BytesIO()
    schemaless_writer(expected, version.parsed, record)
    out: list[bytes] = []
    compile_writer(version.raw)(record, out)
    assert b"".join(out) == expected.getvalue()


def test_longs_at_the_edges() -> None:
    for n, encoded in [(0, b"\x00"), (-1, b"\x01"), (1, b"\x02"), (63, b"\x7e"), (64, b"\x80\x01")]:
        assert encode_long(n) == encoded
    assert encode_long(16384) == b"\x80\x80\x02"
    with pytest.raises(OverflowError):
        encode_long(1 << 63)
    with pytest.raises(TypeError):
        encode_long(1.5)  # type: ignore[arg-type]


def test_naive_datetimes_are_utc_as_in_fastavro() -> None:
    schema = {
        "type": "record",
        "name": "T",
        "fields": [{"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}}],
    }
    moment = datetime(2026, 12, 7, 2, 0, 0, 123456)
    aware: list[bytes] = []
    naive: list[bytes] = []
    compile_writer(schema)({"at": moment.replace(tzinfo=UTC)}, aware)
    compile_writer(schema)({"at": moment}, naive)
    assert aware == naive
    later: list[bytes] = []
    compile_writer(schema)({"at": moment.replace(tzinfo=UTC) + timedelta(milliseconds=1)}, later)
    assert later != aware
