"""Intake: parsing ``/track`` bodies and shaping intake batches for ``/track`` and ``/collect``."""

from __future__ import annotations

import itertools
import json
from typing import Any

import orjson
import pytest

from headwater.core.intake import (
    TrackerPayload,
    build_collect_batch,
    build_tracker_batch,
    parse_tracker_payload,
)
from headwater.errors import InvalidInput, MalformedInput, PayloadTooLarge
from tests.unit.factories import RECEIVED_AT, SOURCE_ID, is_uuid4, millis

HUGE = 2**70  # beyond what a 64-bit integer (and so orjson) can hold


def parse(body: Any) -> TrackerPayload:
    return parse_tracker_payload(json.dumps(body).encode())


@pytest.fixture
def build(make_source, make_meta, make_limits):
    """Build a /track batch from a body (sent as JSON) or a payload, with default
    source, meta and limits."""

    def run(body: dict[str, Any] | TrackerPayload, **kwargs: Any):
        payload = body if isinstance(body, TrackerPayload) else parse(body)
        source = kwargs.pop("source", None) or make_source()
        meta = kwargs.pop("meta", None) or make_meta()
        limits = kwargs.pop("limits", None) or make_limits()
        return build_tracker_batch(payload, source, meta, limits, **kwargs)

    return run


@pytest.fixture
def collect(make_source, make_meta, make_limits):
    def run(event_type: str = "purchase", properties: Any = None, **kwargs: Any):
        return build_collect_batch(
            event_type,
            {"order": "o-1", "total": 12.5} if properties is None else properties,
            kwargs.pop("source", None) or make_source(),
            kwargs.pop("session_id", None),
            kwargs.pop("meta", None) or make_meta(),
            kwargs.pop("limits", None) or make_limits(),
            **kwargs,
        )

    return run


# --- parse_tracker_payload -----------------------------------------------------------


def test_parse_sample_body(make_track_body):
    payload = parse(make_track_body())

    assert payload.source.id == SOURCE_ID
    assert payload.profile is None
    assert payload.session is not None
    assert payload.session.id == "5d1c6a0e-4e0c-4b9a-9d55-0f1f8d9c2a11"
    assert [e.type for e in payload.events] == ["page-view", "product-added-to-basket"]
    assert payload.events[1].properties["sku"] == "A-1001"


@pytest.mark.parametrize("body", [b"{bad", b"", b'{"source": {"id": "s"}', b"\xff\xfe"])
def test_bad_json_is_malformed(body):
    with pytest.raises(MalformedInput) as caught:
        parse_tracker_payload(body)

    assert caught.value.status == 400
    assert "invalid JSON" in caught.value.message


def test_number_no_double_can_hold_is_malformed():
    with pytest.raises(MalformedInput):
        parse_tracker_payload(b'{"source": {"id": "s"}, "events": [{"type": "t", "n": 1e999}]}')


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: [b], "body"),
        (lambda b: {**b, "source": {}}, "source.id"),
        (lambda b: {**b, "source": {"id": ""}}, "source.id"),
        (lambda b: {k: v for k, v in b.items() if k != "source"}, "source"),
        (lambda b: {**b, "events": []}, "events"),
        (lambda b: {k: v for k, v in b.items() if k != "events"}, "events"),
        (lambda b: {**b, "events": [{**b["events"][0], "type": "   "}]}, "events[0].type"),
        (lambda b: {**b, "events": [b["events"][0], {"type": ""}]}, "events[1].type"),
        (lambda b: {**b, "events": [{"properties": {}}]}, "events[0].type"),
        (lambda b: {**b, "events": [{"type": "x", "id": "has space"}]}, "events[0].id"),
    ],
    ids=[
        "array",
        "no-source-id",
        "empty-source-id",
        "no-source",
        "empty-events",
        "no-events",
        "blank-type",
        "blank-second-type",
        "missing-type",
        "bad-event-id",
    ],
)
def test_invalid_body_names_the_field(make_track_body, change, field):
    with pytest.raises(InvalidInput) as caught:
        parse(change(make_track_body()))

    assert caught.value.status == 422
    assert caught.value.field == field
    assert caught.value.message.startswith(f"{field}: ")


def test_unknown_keys_are_ignored(make_track_body):
    plain = make_track_body()
    del plain["device"]
    noisy = make_track_body(metadata={"time": {"insert": "x"}}, device={"id": "d"}, extra=[1])
    noisy["events"][0]["surprise"] = True

    assert parse(noisy) == parse(plain)


def test_event_type_is_stripped(make_track_body):
    body = make_track_body(events=[{"type": "  page-view \n"}])

    assert parse(body).events[0].type == "page-view"


# --- build_tracker_batch: ids --------------------------------------------------------


def test_assigns_missing_profile_and_session(build, make_track_body):
    accepted = build(make_track_body(profile=None, session=None))

    assert is_uuid4(accepted.profile_id)
    assert is_uuid4(accepted.session_id)
    assert accepted.profile_id != accepted.session_id
    assert accepted.record["profile_id"] == accepted.profile_id
    assert accepted.record["session_id"] == accepted.session_id
    assert accepted.record["profile_assigned"] is True
    assert accepted.record["session_assigned"] is True


def test_keeps_given_profile_and_session(build, make_track_body):
    accepted = build(make_track_body(profile={"id": "p-1"}, session={"id": "s-1"}))

    assert (accepted.profile_id, accepted.session_id) == ("p-1", "s-1")
    assert accepted.record["profile_id"] == "p-1"
    assert accepted.record["session_id"] == "s-1"
    assert accepted.record["profile_assigned"] is False
    assert accepted.record["session_assigned"] is False


def test_sample_keeps_session_and_assigns_profile(build, make_track_body):
    accepted = build(make_track_body())

    assert accepted.session_id == "5d1c6a0e-4e0c-4b9a-9d55-0f1f8d9c2a11"
    assert accepted.record["session_assigned"] is False
    assert is_uuid4(accepted.profile_id)
    assert accepted.record["profile_assigned"] is True


def test_empty_profile_id_is_assigned_and_flagged(build, make_track_body):
    accepted = build(make_track_body(profile={"id": ""}, session={"id": ""}))

    assert is_uuid4(accepted.profile_id)
    assert is_uuid4(accepted.session_id)
    assert accepted.record["profile_assigned"] is True
    assert accepted.record["session_assigned"] is True


def test_event_ids_are_the_clients_or_uuid4(build, make_track_body):
    body = make_track_body()
    body["events"][0]["id"] = "evt-1.a:b"
    accepted = build(body)

    assert accepted.event_ids[0] == "evt-1.a:b"
    assert is_uuid4(accepted.event_ids[1])
    assert [e["id"] for e in accepted.record["events"]] == accepted.event_ids


def test_generated_ids_are_distinct(build, make_track_body):
    body = make_track_body(profile=None, session=None, events=[{"type": "t"}] * 300)
    accepted = build(body)

    ids = [accepted.profile_id, accepted.session_id, *accepted.event_ids]
    assert len(set(ids)) == 302
    assert all(is_uuid4(i) for i in ids)


def test_uses_the_given_id_factory(build, make_track_body):
    counter = itertools.count(1)
    accepted = build(
        make_track_body(profile=None, session=None), make_id=lambda: f"id-{next(counter)}"
    )

    assert accepted.profile_id == "id-1"
    assert accepted.session_id == "id-2"
    assert accepted.event_ids == ["id-3", "id-4"]


# --- build_tracker_batch: profile-less and keys ---------------------------------------


def test_one_profile_id_in_two_environments_is_two_profiles(build, make_track_body, make_source):
    body = make_track_body(profile={"id": "p-9"})
    production = build(body, source=make_source(env="production"))
    staging = build(body, source=make_source(env="staging"))

    assert production.key != staging.key  # separate state in the profile table


def test_partition_key_is_tenant_env_and_profile(build, make_track_body, make_source):
    accepted = build(make_track_body(profile={"id": "p-9"}), source=make_source(tenant="globex"))

    assert accepted.key == b"globex:production:p-9"


@pytest.mark.parametrize("via", ["argument", "payload"])
def test_profile_less_has_no_profile(build, make_track_body, via):
    body = make_track_body(profile={"id": "p-1"}, session={"id": "s-1"})
    if via == "payload":
        accepted = build({**body, "profile_less": True})
    else:
        accepted = build(body, profile_less=True)

    assert accepted.profile_id is None
    assert accepted.record["profile_id"] is None
    assert accepted.record["profile_assigned"] is False
    assert accepted.record["profile_less"] is True
    assert accepted.key == b"acme:production:~s-1"


def test_profile_less_without_session_keys_by_new_session(build, make_track_body):
    accepted = build(make_track_body(session=None), profile_less=True)

    assert accepted.profile_id is None
    assert is_uuid4(accepted.session_id)
    assert accepted.key == f"acme:production:~{accepted.session_id}".encode()


# --- build_tracker_batch: times -------------------------------------------------------


def test_event_time_from_create(build, make_track_body):
    accepted = build(make_track_body())

    times = [e["time"] for e in accepted.record["events"]]
    assert times == [
        millis("2026-11-28T14:03:11.400+00:00"),
        millis("2026-11-28T14:03:15.020+00:00"),
    ]
    assert accepted.record["received_at"] == RECEIVED_AT


@pytest.mark.parametrize("time", [None, {}, {"create": None}])
def test_event_time_defaults_to_received_at(build, make_track_body, time):
    event: dict[str, Any] = {"type": "t"}
    if time is not None:
        event["time"] = time
    accepted = build(make_track_body(events=[event]))

    assert accepted.record["events"][0]["time"] == RECEIVED_AT


@pytest.mark.parametrize(
    "create", ["2026-11-28T14:03:11.400", "2026-11-28T15:03:11.400+01:00", "2026-11-28T14:03:11.4Z"]
)
def test_event_time_naive_is_utc_and_offsets_apply(build, make_track_body, create):
    accepted = build(make_track_body(events=[{"type": "t", "time": {"create": create}}]))

    assert accepted.record["events"][0]["time"] == millis("2026-11-28T14:03:11.400+00:00")


@pytest.mark.parametrize(
    "create", ["2004-06-24T06:59:47.909+00:00", "2038-03-27T09:37:33.542+00:00"]
)
def test_event_time_keeps_exact_milliseconds(build, make_track_body, create):
    accepted = build(make_track_body(events=[{"type": "t", "time": {"create": create}}]))

    assert accepted.record["events"][0]["time"] == millis(create)


# --- build_tracker_batch: limits and encoding ------------------------------------------


def test_event_over_limit_is_too_large(build, make_track_body, make_limits):
    body = make_track_body()
    body["events"][1]["properties"]["blob"] = "x" * 2000

    with pytest.raises(PayloadTooLarge) as caught:
        build(body, limits=make_limits(max_event_bytes=1024))

    assert caught.value.status == 413
    assert caught.value.field == "events[1]"
    assert caught.value.message.startswith("events[1] is ")
    assert "1024-byte limit" in caught.value.message


def test_event_limit_counts_properties_context_options_and_type(build, make_limits):
    event = {"type": "abc", "properties": {"a": 1}, "context": {"b": 2}, "options": {"c": 3}}
    size = 3 + 3 * len(b'{"a":1}')
    body = {"source": {"id": SOURCE_ID}, "events": [event]}

    assert build(body, limits=make_limits(max_event_bytes=size)).event_ids
    with pytest.raises(PayloadTooLarge):
        build(body, limits=make_limits(max_event_bytes=size - 1))


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ("event-properties", "events[0].properties"),
        ("event-context", "events[0].context"),
        ("event-options", "events[0].options"),
        ("request-context", "context"),
        ("request-properties", "properties"),
    ],
)
def test_huge_integer_is_invalid_input(build, make_track_body, where, field):
    body = make_track_body(events=[{"type": "t"}])
    scope, key = where.split("-")
    target = body["events"][0] if scope == "event" else body
    target[key] = {"nested": {"n": HUGE}}
    payload = TrackerPayload.model_validate(body)  # as a bridge would hand it over

    with pytest.raises(InvalidInput) as caught:
        build(payload)

    assert caught.value.status == 422
    assert caught.value.field == field


def test_integers_beyond_64_bits_become_floats(make_source, make_meta, make_limits):
    """Documented behaviour: like JavaScript, intake keeps such numbers as doubles."""
    body = b'{"source": {"id": "s"}, "events": [{"type": "t", "properties": {"n": %d}}]}'
    big = 2**64 + 1

    payload = parse_tracker_payload(body % big)
    accepted = build_tracker_batch(payload, make_source(), make_meta(), make_limits())

    assert orjson.loads(accepted.record["events"][0]["properties"]) == {"n": float(big)}


def test_record_carries_request_and_source(build, make_track_body, make_source):
    body = make_track_body(properties={"plan": "pro"})
    accepted = build(body, source=make_source(tenant="globex", env="staging", id="src-9"))
    record = accepted.record

    assert record["tenant"] == "globex"
    assert record["env"] == "staging"
    assert record["source_id"] == "src-9"
    assert record["channel"] == "track"
    assert record["ip"] == "203.0.113.7"
    assert record["user_agent"].startswith("Mozilla/5.0")
    assert orjson.loads(record["context"]) == body["context"]
    assert orjson.loads(record["properties"]) == {"plan": "pro"}
    first = record["events"][0]
    assert first["type"] == "page-view"
    assert orjson.loads(first["context"]) == body["events"][0]["context"]
    assert first["properties"] == b"{}"
    assert first["tags"] == []


def test_tracker_record_fits_the_intake_schema(build, make_track_body, codec):
    accepted = build(make_track_body())

    decoded = codec.decode("intake_batch", codec.encode("intake_batch", accepted.record))

    assert [e["id"] for e in decoded["events"]] == accepted.event_ids
    assert decoded["profile_id"] == accepted.profile_id
    assert decoded["context"] == accepted.record["context"]


@pytest.mark.parametrize("session_id", ["has space", "line\nbreak", "a/b"])
def test_track_refuses_session_ids_collect_refuses(make_track_body, collect, session_id):
    with pytest.raises(InvalidInput):
        collect(session_id=session_id)
    with pytest.raises(InvalidInput):
        parse(make_track_body(session={"id": session_id}))


# --- build_collect_batch ----------------------------------------------------------------


def test_collect_without_session_is_profile_less(collect):
    accepted = collect()

    assert accepted.profile_id is None
    assert accepted.session_id is None
    assert accepted.record["profile_less"] is True
    assert accepted.record["profile_id"] is None
    assert accepted.record["session_id"] is None
    assert accepted.record["profile_assigned"] is False
    assert accepted.record["session_assigned"] is False
    [event_id] = accepted.event_ids
    assert is_uuid4(event_id)
    assert accepted.key == f"acme:production:~{event_id}".encode()


def test_collect_with_session(collect):
    accepted = collect(session_id="sess-1.a:b_c")

    assert accepted.session_id == "sess-1.a:b_c"
    assert accepted.record["session_id"] == "sess-1.a:b_c"
    assert accepted.record["profile_less"] is False
    assert accepted.profile_id is None
    assert accepted.key == b"acme:production:~sess-1.a:b_c"


def test_collect_event_is_the_request_data(collect):
    accepted = collect("  purchase ", {"order": "o-1", "items": ["a", "b"]})
    record = accepted.record
    [event] = record["events"]

    assert record["channel"] == "collect"
    assert event["type"] == "purchase"
    assert event["time"] == RECEIVED_AT
    assert orjson.loads(event["properties"]) == {"order": "o-1", "items": ["a", "b"]}
    assert record["properties"] == b"{}"
    assert record["context"] == b"{}"


@pytest.mark.parametrize("session_id", ["has space", "a/b", "", "x" * 129, "é"])
def test_collect_refuses_bad_session_id(collect, session_id):
    with pytest.raises(InvalidInput) as caught:
        collect(session_id=session_id)

    assert caught.value.status == 422
    assert caught.value.field == "session_id"


def test_collect_refuses_session_id_with_trailing_newline(collect):
    with pytest.raises(InvalidInput):
        collect(session_id="abc\n")


@pytest.mark.parametrize("event_type", ["", "   ", "t" * 129])
def test_collect_refuses_bad_event_type(collect, event_type):
    with pytest.raises(InvalidInput) as caught:
        collect(event_type)

    assert caught.value.field == "event_type"


def test_collect_over_limit_is_too_large(collect, make_limits):
    with pytest.raises(PayloadTooLarge) as caught:
        collect(properties={"blob": "x" * 1100}, limits=make_limits(max_event_bytes=1024))

    assert caught.value.status == 413
    assert caught.value.field == "properties"


def test_collect_huge_integer_is_invalid_input(collect):
    with pytest.raises(InvalidInput) as caught:
        collect(properties={"n": HUGE})

    assert caught.value.field == "properties"


def test_collect_record_fits_the_intake_schema(collect, codec):
    accepted = collect(session_id="s-1")

    decoded = codec.decode("intake_batch", codec.encode("intake_batch", accepted.record))

    assert decoded["events"][0]["id"] == accepted.event_ids[0]
    assert decoded["channel"] == "collect"


def test_bot_requests_are_kept_and_tagged_on_every_route(
    build, collect, make_track_body, make_meta
):
    crawler = make_meta(user_agent="Mozilla/5.0 (compatible; Googlebot/2.1)")
    body = make_track_body(events=[{"type": "page-view", "tags": ["landing"]}])

    from_bot = build(body, meta=crawler).record["events"]
    from_person = build(body).record["events"]
    collected = collect(meta=crawler).record["events"]

    assert [e["tags"] for e in from_bot] == [["landing", "bot"]]
    assert [e["tags"] for e in from_person] == [["landing"]]
    assert [e["tags"] for e in collected] == [["bot"]]
