"""The typed records match their Avro schemas field for field, the one intake-record
constructor makes records the schema takes, and JSON-object fields open one way."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.core import records
from headwater.core.records import intake_batch, intake_event, json_object
from headwater.errors import SchemaError
from headwater.schemas import INTAKE_BATCH, schema_family, schema_names
from headwater.streams.codec import AvroCodec

# Avro record name -> the TypedDict that spells it (nested records included)
TYPED = {
    "IntakeBatch": records.IntakeBatch,
    "IntakeEvent": records.IntakeEvent,
    "ProcessedBatch": records.ProcessedBatch,
    "ProcessedMessage": records.ProcessedMessage,
    "AppliedEvent": records.AppliedEvent,
    "SessionUpdate": records.SessionUpdate,
    "ProfileSnapshot": records.ProfileSnapshot,
    "IdentityClaim": records.IdentityClaim,
    "ProfileOp": records.ProfileOp,
    "MergeRecord": records.MergeRecord,
    "OutboundRequest": records.OutboundRequest,
    "DeadLetter": records.DeadLetter,
    "ConfigRecord": records.ConfigRecord,
    "JobRecord": records.JobRecord,
    "ProfileRebuild": records.ProfileRebuild,
}


def _records_in(schema: Any) -> list[dict[str, Any]]:
    """Every record schema in ``schema``, outermost first."""
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "record":
            found.append(schema)
            for field in schema["fields"]:
                found += _records_in(field["type"])
        elif schema.get("type") == "array":
            found += _records_in(schema["items"])
    elif isinstance(schema, list):
        for branch in schema:
            found += _records_in(branch)
    return found


def test_every_schema_record_has_a_typed_dict_with_its_fields() -> None:
    seen = set()
    for name in schema_names():
        for record in _records_in(schema_family(name)[-1].raw):
            typed = TYPED[record["name"]]
            assert list(typed.__annotations__) == [f["name"] for f in record["fields"]], name
            seen.add(record["name"])
    assert seen == set(TYPED)


def test_the_intake_constructor_makes_what_the_schema_takes() -> None:
    codec = AvroCodec.default()
    event = intake_event("e1", "page-view", 1_795_900_000_000, tags=["bot"])
    batch = intake_batch("t", "production", "src", "collect", 1_795_900_000_000, [event])
    decoded = codec.decode(INTAKE_BATCH, codec.encode(INTAKE_BATCH, batch))
    assert decoded["events"][0]["context"] == b"{}" and decoded["events"][0]["tags"] == ["bot"]
    assert (decoded["profile_id"], decoded["profile_less"], decoded["ip"]) == (None, False, None)


def test_a_json_object_field_opens_to_a_dict_and_anything_else_is_the_records_fault() -> None:
    assert json_object(b"{}") == {} and json_object(b"") == {} and json_object(None) == {}
    assert json_object(b'{"a": 1}', "context") == {"a": 1}
    with pytest.raises(SchemaError, match="context is not a JSON object"):
        json_object(b"{broken", "context")
    with pytest.raises(SchemaError, match="properties is not a JSON object but list"):
        json_object(b"[1]", "properties")
