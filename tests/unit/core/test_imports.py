"""Imported records as intake batches (core/imports.py): ids kept or derived from the
position, the import mark, the collector's own validation, CSV mappings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater.core.imports import (
    CsvMapping,
    ImportTarget,
    csv_row_batches,
    flows_off,
    headwater_line_batches,
    import_id_for,
    segment_line_batches,
)
from headwater.core.intake import IntakeLimits
from headwater.core.records import json_object
from headwater.core.segment_mapping import event_id_for
from headwater.core.sources import EventSource
from headwater.errors import InputError, PayloadTooLarge

SOURCE = EventSource(id="src", tenant="acme", env="production")
LIMITS = IntakeLimits(32_768, 512_000)
IMPORT = import_id_for(SOURCE, "file-headwater", "sha/")
T = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)


def target(flows: bool = False) -> ImportTarget:
    return ImportTarget(SOURCE, LIMITS, IMPORT, T, flows)


def test_a_stored_event_keeps_its_ids_and_carries_the_import_mark():
    line = {
        "id": "e-1",
        "type": "purchase",
        "profile": {"id": "p-1"},
        "session": {"id": "s-1"},
        "time": {"create": "2025-05-01T10:00:00Z"},
        "properties": {"total": 3},
        "tenant": "ignored",
    }
    [accepted] = headwater_line_batches(line, target(), "line/1")
    record = accepted.record
    assert (record["profile_id"], record["session_id"], accepted.event_ids) == (
        "p-1",
        "s-1",
        ["e-1"],
    )
    assert record["source_id"] == "src" and record["channel"] == "track"
    assert record["events"][0]["time"] == int(
        datetime(2025, 5, 1, 10, tzinfo=UTC).timestamp() * 1000
    )
    assert json_object(record["context"]) == {"import": {"id": IMPORT, "flows": False}}
    assert flows_off(json_object(record["context"]))
    assert not flows_off(
        json_object(headwater_line_batches(line, target(True), "x")[0].record["context"])
    )


def test_a_stored_event_keeps_its_channel_so_channel_bound_mappings_apply_again():
    line = {"type": "identify", "profile": {"id": "p"}, "channel": "segment"}
    assert headwater_line_batches(line, target(), "l")[0].record["channel"] == "segment"
    odd = {**line, "channel": "Not A Channel!"}
    assert headwater_line_batches(odd, target(), "l")[0].record["channel"] == "track"


def test_missing_ids_are_derived_from_the_position_so_a_rerun_makes_the_same_record():
    body = {"events": [{"type": "a"}, {"type": "b"}], "context": {"page": {"url": "u"}}}
    first = headwater_line_batches(body, target(), "line/7")[0]
    again = headwater_line_batches(body, target(), "line/7")[0]
    elsewhere = headwater_line_batches(body, target(), "line/8")[0]
    assert first.record == again.record and first.key == again.key
    assert set(first.event_ids).isdisjoint(elsewhere.event_ids)
    assert first.profile_id != elsewhere.profile_id  # a /track body without a profile
    assert json_object(first.record["context"])["page"] == {"url": "u"}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ([1], "the line must be a JSON object, not list"),
        ({"profile": {"id": "p"}}, "neither events"),
        ({"type": "", "profile": {"id": "p"}}, "events[0].type"),
        ({"type": "a", "profile": {"id": "no spaces"}}, "profile.id"),
        ({"events": []}, "events"),
    ],
)
def test_what_the_collector_refuses_is_refused_with_its_reason(line: object, reason: str):
    with pytest.raises(InputError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        headwater_line_batches(line, target(), "line/1")


def test_the_event_size_limit_applies():
    with pytest.raises(PayloadTooLarge):
        headwater_line_batches({"type": "a", "properties": {"x": "y" * 40_000}}, target(), "l")


def test_segment_calls_get_the_collectors_ids_and_the_mark():
    call = {"type": "track", "event": "Bought", "userId": "u1", "messageId": "m-1"}
    [accepted] = segment_line_batches(call, target(), "line/1")
    assert accepted.record["channel"] == "segment"
    assert accepted.event_ids == [event_id_for(SOURCE, _message(call), lambda: "")]
    assert json_object(accepted.record["context"])["import"]["flows"] is False
    batch = {"batch": [call, {**call, "messageId": "m-2", "userId": "u2"}]}
    assert len(segment_line_batches(batch, target(), "line/2")) == 2
    with pytest.raises(InputError, match="event is required"):
        segment_line_batches({"type": "track", "userId": "u"}, target(), "l")


def _message(call: dict[str, object]):  # type: ignore[no-untyped-def]
    from headwater.core.segment import SegmentMessage

    return SegmentMessage.model_validate(call)


def test_a_csv_profile_row_is_a_profile_update_with_traits_and_identity():
    mapping = CsvMapping(
        kind="profiles",
        profile_id="id",
        identity={"email": "mail"},
        types={"age": "int", "vip": "bool"},
    )
    row = {"id": "c-1", "mail": "a@b.c", "age": "40", "vip": "yes", "note": ""}
    [accepted] = csv_row_batches(row, mapping, target(), "line/2")
    event = accepted.record["events"][0]
    assert accepted.profile_id == "c-1" and event["type"] == "profile-update"
    assert json_object(event["properties"]) == {
        "email": "a@b.c",
        "traits": {"age": 40, "vip": True},
    }


def test_a_csv_event_row_by_named_columns():
    mapping = CsvMapping(
        profile_id="who", event_type="what", time="at", properties={"amount": "total"}
    )
    row = {"who": "p", "what": "purchase", "at": "1767225600000", "total": "9", "x": "y"}
    [accepted] = csv_row_batches(row, mapping, target(), "line/3")
    event = accepted.record["events"][0]
    assert (event["type"], event["time"]) == ("purchase", 1767225600000)
    assert json_object(event["properties"]) == {"amount": "9"}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"who": "", "what": "a", "at": "1"}, "column who is empty"),
        ({"who": "p", "what": "a", "at": "yesterday"}, "column at: 'yesterday' is not"),
        ({"who": "p", "what": "a", "at": "1", None: ["z"]}, "more cells"),
    ],
)
def test_bad_csv_rows_say_why(row: dict[str | None, object], reason: str):
    mapping = CsvMapping(profile_id="who", event_type="what", time="at")
    with pytest.raises(InputError, match=reason):
        csv_row_batches(row, mapping, target(), "line/4")  # type: ignore[arg-type]


def test_a_mapping_must_say_what_a_row_is():
    with pytest.raises(ValueError, match="profile_id"):
        CsvMapping(kind="profiles")
    with pytest.raises(ValueError, match="event_type"):
        CsvMapping(kind="events")
