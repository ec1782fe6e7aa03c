"""Avro single-object encoding: header, round trips, errors and reading older writers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

from headwater.errors import SchemaError, UnknownSchema
from headwater.schemas import SCHEMA_DIR, SchemaVersion, schema_family, schema_names
from headwater.streams.codec import MAGIC, AvroCodec

NOW = datetime(2026, 11, 28, 14, 3, 20, 123000, tzinfo=UTC)


def intake_batch() -> dict[str, Any]:
    return {
        "tenant": "acme",
        "env": "production",
        "source_id": "src-1",
        "channel": "track",
        "received_at": NOW,
        "profile_id": "p-1",
        "profile_assigned": True,
        "session_id": None,
        "session_assigned": False,
        "profile_less": False,
        "ip": "203.0.113.7",
        "user_agent": None,
        "context": b'{"utm":{"source":"ad"}}',
        "properties": b"{}",
        "events": [
            {
                "id": "e-1",
                "type": "page-view",
                "time": datetime(2026, 11, 28, 14, 3, 11, 400000, tzinfo=UTC),
                "properties": b'{"price":89.9}',
                "context": b"{}",
                "options": b"{}",
                "tags": ["web"],
            },
            {
                "id": "e-2",
                "type": "zażółć",
                "time": NOW,
                "properties": b"{}",
                "context": b"{}",
                "options": b"{}",
                "tags": [],
            },
        ],
    }


def config_record() -> dict[str, Any]:
    return {
        "kind": "source",
        "tenant": "acme",
        "env": None,
        "id": "src-1",
        "version": 2**62,
        "deleted": True,
        "data": b'{"enabled":true}',
        "updated_at": NOW,
        "updated_by": "init",
    }


def job_record() -> dict[str, Any]:
    return {
        "id": "job-1",
        "kind": "replay",
        "tenant": "acme",
        "env": "production",
        "state": "running",
        "params": '{"since": null}',
        "requested_by": "admin@acme.example",
        "requested_at": NOW,
        "updated_at": NOW,
        "attempts": 2,
        "worker": "worker-a",
        "done": 10,
        "total": 2**40,
        "counts": {"events": 10, "documents": 12},
        "errors": ["event e-1: not JSON"],
        "checkpoint": '{"offsets": {"0": 5}}',
        "result": None,
    }


def profile_rebuild() -> dict[str, Any]:
    return {
        "rebuild": "r-1",
        "kind": "state",
        "tenant": "acme",
        "env": None,
        "partition": 3,
        "key": b"acme:production:p-1",
        "state": b'{"id": "p-1"}',
        "count": 0,
    }


def dead_letter() -> dict[str, Any]:
    return {
        "stage": "storage",
        "reason": "mapper_parsing_exception",
        "topic": "hw.intake",
        "partition": 5,
        "offset": 2**40,
        "key": b"acme:p-1",
        "payload": b"\xc3\x01\x00\xff",
        "failed_at": NOW,
        "attempts": 3,
        "tenant": "acme",
        "env": "production",
    }


def processed_batch() -> dict[str, Any]:
    applied = {
        "id": "e-1",
        "session_id": "s-1",
        "profile_version": 7,
        "errors": ["properties/total: 1 is not of type 'string'"],
        "properties": b'{"total": 1}',
        "limits": ["profile_max_keys: traits"],
    }
    return {
        "intake": b"",
        "profile_id": "p-1",
        "events": [],
        "messages": [
            {"intake": b"\xc3\x01" + b"\x00" * 8 + b"opaque", "events": [applied]},
            {"intake": b"\xc3\x01" + b"\x00" * 8 + b"other", "events": []},
        ],
        "sessions": [
            {
                "id": "s-1",
                "start": NOW,
                "last": NOW,
                "events": 3,
                "context": b'{"utm":{}}',
                "merged_into": None,
            }
        ],
    }


def profile_snapshot() -> dict[str, Any]:
    return {
        "tenant": "acme",
        "env": "production",
        "id": "p-1",
        "version": 7,
        "document": b'{"id":"p-1"}',
    }


def identity_claim() -> dict[str, Any]:
    return {
        "tenant": "acme",
        "env": "production",
        "identifier": "email:0f3c",
        "profile_id": "p-1",
        "first_seen": 1_795_900_000_000,
        "unique": {"customer_id": "customer_id:9a1b"},
        "absorbed": ["p-0"],
        "merges": 1,
        "release": False,
    }


def profile_op() -> dict[str, Any]:
    return {
        "op": "merge-in",
        "id": "op-1",
        "tenant": "acme",
        "env": "production",
        "profile_id": "p-1",
        "other": "p-2",
        "state": b'{"id":"p-2"}',
    }


def merge_record() -> dict[str, Any]:
    return {
        "id": "m-1",
        "tenant": "acme",
        "env": "production",
        "time": datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
        "outcome": "refused",
        "reason": "both profiles have a different customer_id (unique key)",
        "identifier": "email:0f3c",
        "survivor": "p-1",
        "other": "p-2",
    }


def outbound_request() -> dict[str, Any]:
    return {
        "tenant": "acme",
        "env": "production",
        "profile_id": "p-1",
        "kind": "http",
        "target": b'{"url": "https://hooks.example/x", "method": "POST"}',
        "body": b'{"plan": "pro"}',
        "idempotency_key": "k-1",
        "flow_id": "f-1",
        "node_id": "n-1",
        "event_id": "e-1",
        "not_before_ms": None,
    }


RECORDS: dict[str, Callable[[], dict[str, Any]]] = {
    "outbound_request": outbound_request,
    "identity_claim": identity_claim,
    "profile_op": profile_op,
    "merge_record": merge_record,
    "intake_batch": intake_batch,
    "config_record": config_record,
    "job_record": job_record,
    "profile_rebuild": profile_rebuild,
    "dead_letter": dead_letter,
    "processed_batch": processed_batch,
    "profile_snapshot": profile_snapshot,
}


def crc64_avro(data: bytes) -> int:
    """CRC-64-AVRO as the Avro specification writes it, independent of fastavro."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def make_version(name: str, version: int, raw: dict[str, Any]) -> SchemaVersion:
    """A schema version built the way ``headwater.schemas`` loads one from a file."""
    parsed = parse_schema(raw)
    fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))
    return SchemaVersion(name=name, version=version, parsed=parsed, fingerprint=fp, raw=raw)


# --- every real schema ---------------------------------------------------------------


def test_records_cover_every_schema():
    assert set(RECORDS) == set(schema_names())


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_round_trip(codec, name):
    record = RECORDS[name]()

    assert codec.decode(name, codec.encode(name, record)) == record


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_header_is_magic_and_little_endian_fingerprint(codec, name):
    raw = json.loads((SCHEMA_DIR / f"{name}.avsc").read_text())
    canonical = to_parsing_canonical_form(parse_schema(raw))

    message = codec.encode(name, RECORDS[name]())

    assert message[:2] == b"\xc3\x01" == MAGIC
    assert message[2:10] == bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))
    assert message[2:10] == crc64_avro(canonical.encode()).to_bytes(8, "little")
    assert message[2:10] == schema_family(name)[-1].fingerprint


def test_crc64_helper_matches_the_spec_vector():
    # The Avro reference implementations give this fingerprint for the schema "int".
    assert crc64_avro(b'"int"') == 8247732601305521295


def test_make_version_matches_the_loader():
    current = schema_family("dead_letter")[-1]

    assert make_version("dead_letter", 1, current.raw).fingerprint == current.fingerprint


# --- refusing what it cannot read ------------------------------------------------------


def test_unknown_fingerprint(codec):
    message = codec.encode("dead_letter", dead_letter())
    forged = MAGIC + bytes(8) + message[10:]

    with pytest.raises(UnknownSchema, match="0000000000000000"):
        codec.decode("dead_letter", forged)


@pytest.mark.parametrize(
    "cut", [lambda m: b"\xc3\x02" + m[2:], lambda m: b"\x00" + m[1:], lambda m: b'{"a": 1, "b": 2}']
)
def test_wrong_magic(codec, cut):
    message = cut(codec.encode("dead_letter", dead_letter()))

    with pytest.raises(SchemaError, match="not an Avro single-object message") as caught:
        codec.decode("dead_letter", message)

    assert not isinstance(caught.value, UnknownSchema)


@pytest.mark.parametrize("length", [0, 1, 2, 9])
def test_truncated_header(codec, length):
    message = codec.encode("dead_letter", dead_letter())[:length]

    with pytest.raises(SchemaError, match="not an Avro single-object message"):
        codec.decode("dead_letter", message)


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_truncated_body(codec, name):
    message = codec.encode(name, RECORDS[name]())

    for length in (10, 11, len(message) // 2, len(message) - 1):
        with pytest.raises(SchemaError, match="corrupt"):
            codec.decode(name, message[:length])


def test_decoding_as_another_schema(codec):
    message = codec.encode("intake_batch", intake_batch())

    with pytest.raises(SchemaError, match="holds a 'intake_batch' record") as caught:
        codec.decode("config_record", message)

    assert not isinstance(caught.value, UnknownSchema)


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("config_record", {"kind": None}),
        ("config_record", {"kind": 5}),
        ("config_record", {"data": "not bytes"}),
        ("config_record", {"version": "one"}),
        ("config_record", {"updated_at": "yesterday"}),
        ("config_record", {"env": 5}),
        ("dead_letter", {"partition": 2**64}),
        ("intake_batch", {"events": [{"id": "e-1"}]}),
        ("intake_batch", {"events": None}),
    ],
)
def test_record_that_does_not_fit(codec, name, change):
    record = {**RECORDS[name](), **change}

    with pytest.raises(SchemaError, match=f"does not fit schema '{name}'"):
        codec.encode(name, record)


def test_record_missing_a_required_field(codec):
    record = config_record()
    del record["tenant"]

    with pytest.raises(SchemaError, match="tenant"):
        codec.encode("config_record", record)


def test_long_beyond_64_bits_does_not_fit(codec):
    with pytest.raises(SchemaError):
        codec.encode("config_record", {**config_record(), "version": 2**64})


def test_dead_letter_counters_are_longs(codec):
    """Dead-letter numbers are Avro longs, so no value Python hands over overflows them."""
    record = {**dead_letter(), "attempts": 2**40, "partition": 2**33}
    decoded = codec.decode("dead_letter", codec.encode("dead_letter", record))
    assert (decoded["attempts"], decoded["partition"]) == (2**40, 2**33)


# --- older writers -----------------------------------------------------------------------

THING_V1 = {
    "type": "record",
    "name": "Thing",
    "namespace": "headwater.test",
    "fields": [{"name": "id", "type": "string"}, {"name": "size", "type": "int"}],
}
THING_V2 = {
    **THING_V1,
    "fields": [
        *THING_V1["fields"],
        {"name": "label", "type": "string", "default": "none"},
        {"name": "owner", "type": ["null", "string"], "default": None},
    ],
}


@pytest.fixture
def make_thing_codec() -> Callable[..., AvroCodec]:
    """A codec for a hand-made two-version family: v1, and v2 adding fields with defaults."""

    def make(*raws: dict[str, Any]) -> AvroCodec:
        versions = tuple(make_version("thing", n, raw) for n, raw in enumerate(raws, start=1))
        return AvroCodec({"thing": versions})

    return make


def test_older_writer_is_read_as_current(make_thing_codec):
    old = make_thing_codec(THING_V1)
    current = make_thing_codec(THING_V1, THING_V2)

    decoded = current.decode("thing", old.encode("thing", {"id": "a", "size": 7}))

    assert decoded == {"id": "a", "size": 7, "label": "none", "owner": None}


def test_current_writer_uses_the_newest_fingerprint(make_thing_codec):
    current = make_thing_codec(THING_V1, THING_V2)
    v1, v2 = (make_version("thing", n, raw) for n, raw in ((1, THING_V1), (2, THING_V2)))
    record = {"id": "b", "size": 1, "label": "x", "owner": "ops"}

    message = current.encode("thing", record)

    assert v1.fingerprint != v2.fingerprint
    assert message[2:10] == v2.fingerprint
    assert current.decode("thing", message) == record


def test_older_reader_does_not_know_a_newer_writer(make_thing_codec):
    old = make_thing_codec(THING_V1)
    current = make_thing_codec(THING_V1, THING_V2)

    message = current.encode("thing", {"id": "c", "size": 2})

    with pytest.raises(UnknownSchema):
        old.decode("thing", message)
