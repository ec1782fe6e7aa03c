"""Segment messages as intake batches: profiles, ids, times, types, context, limits."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from headwater.core.intake import IntakeLimits
from headwater.core.segment import parse_segment_batch
from headwater.core.segment_mapping import build_segment_batches, profile_id_for
from headwater.errors import PayloadTooLarge
from tests.unit.factories import RECEIVED_AT, millis

LIMITS = IntakeLimits(max_event_bytes=32 * 1024, max_request_bytes=500 * 1024)


def batch_of(*messages: dict[str, Any], **top: Any):
    return parse_segment_batch(orjson.dumps({"batch": list(messages), **top}))


def events_of(accepted) -> list[dict[str, Any]]:
    return [event for batch in accepted for event in batch.record["events"]]


def decoded(event: dict[str, Any], field: str) -> Any:
    return orjson.loads(event[field])


def test_anonymous_and_identified_calls_from_one_device_share_a_profile(make_source, make_meta):
    batch = batch_of(
        {"type": "page", "anonymousId": "device-1"},
        {"type": "identify", "anonymousId": "device-1", "userId": "u-7", "traits": {"a": 1}},
        {"type": "track", "event": "Bought", "anonymousId": "device-1", "userId": "u-7"},
    )

    accepted = build_segment_batches(batch, make_source(), make_meta(), LIMITS)

    assert len(accepted) == 1  # one profile, one intake record
    [record] = [a.record for a in accepted]
    assert record["channel"] == "segment" and not record["profile_assigned"]
    assert accepted[0].key == f"acme:production:{record['profile_id']}".encode()
    assert [decoded(e, "options").get("user_id") for e in record["events"]] == [None, "u-7", "u-7"]


def test_profile_id_is_a_uuid5_stable_per_tenant(make_source, make_meta):
    batch = batch_of({"type": "track", "event": "E", "userId": "u-7"})

    here = build_segment_batches(batch, make_source(), make_meta(), LIMITS)[0].profile_id
    again = build_segment_batches(batch, make_source(), make_meta(), LIMITS)[0].profile_id
    other = build_segment_batches(batch, make_source(tenant="zeta"), make_meta(), LIMITS)

    assert here == again and uuid.UUID(here).version == 5
    assert other[0].profile_id != here


def test_messages_of_several_profiles_become_one_record_each_in_order(make_source, make_meta):
    batch = batch_of(
        {"type": "track", "event": "one", "userId": "u-1"},
        {"type": "track", "event": "two", "userId": "u-2"},
        {"type": "track", "event": "three", "userId": "u-1"},
    )

    accepted = build_segment_batches(batch, make_source(), make_meta(), LIMITS)

    assert [[e["type"] for e in a.record["events"]] for a in accepted] == [
        ["one", "three"],
        ["two"],
    ]
    assert accepted[0].profile_id == profile_id_for("acme", batch.batch[0])


def test_message_id_gives_the_same_event_id_every_time(make_source, make_meta):
    message = {"type": "track", "event": "E", "userId": "u", "messageId": "m-1"}
    first = events_of(build_segment_batches(batch_of(message), make_source(), make_meta(), LIMITS))
    retry = events_of(build_segment_batches(batch_of(message), make_source(), make_meta(), LIMITS))
    elsewhere = events_of(
        build_segment_batches(batch_of(message), make_source(id="other"), make_meta(), LIMITS)
    )
    unnamed = {"type": "track", "event": "E", "userId": "u"}
    random_ids = {
        events_of(build_segment_batches(batch_of(unnamed), make_source(), make_meta(), LIMITS))[0][
            "id"
        ]
        for _ in range(3)
    }

    assert first[0]["id"] == retry[0]["id"]
    assert uuid.UUID(first[0]["id"]).version == 5
    assert elsewhere[0]["id"] != first[0]["id"]  # message ids are per source
    assert len(random_ids) == 3


def test_clock_skew_is_corrected_from_sent_at(make_source, make_meta):
    # the device clock is 10 minutes fast: it says it sent at 12:10, sending took no time
    batch = batch_of(
        {
            "type": "track",
            "event": "E",
            "userId": "u",
            "timestamp": "2026-11-28T12:09:00Z",
        },
        {"type": "track", "event": "F", "userId": "u", "originalTimestamp": "2026-11-28T12:08:00Z"},
        sentAt="2026-11-28T12:10:00Z",
    )
    meta = make_meta(received_at=millis("2026-11-28T12:00:00+00:00"))

    times = [
        e["time"] for e in events_of(build_segment_batches(batch, make_source(), meta, LIMITS))
    ]

    assert times == [millis("2026-11-28T11:59:00+00:00"), millis("2026-11-28T11:58:00+00:00")]


def test_times_without_sent_at_or_timestamp(make_source, make_meta):
    batch = batch_of(
        {"type": "track", "event": "E", "userId": "u", "timestamp": "2026-11-28T12:09:00Z"},
        {"type": "track", "event": "F", "userId": "u"},
    )

    times = [
        e["time"]
        for e in events_of(build_segment_batches(batch, make_source(), make_meta(), LIMITS))
    ]

    assert times == [millis("2026-11-28T12:09:00+00:00"), RECEIVED_AT]


def test_absurd_clocks_keep_the_device_time(make_source, make_meta):
    batch = batch_of(
        {
            "type": "track",
            "event": "E",
            "userId": "u",
            "timestamp": "0001-01-02T00:00:00Z",
            "sentAt": "9999-12-30T00:00:00Z",
        }
    )

    [event] = events_of(build_segment_batches(batch, make_source(), make_meta(), LIMITS))

    assert event["time"] == millis("0001-01-02T00:00:00+00:00")


@pytest.mark.parametrize(
    ("message", "event_type", "properties"),
    [
        ({"type": "track", "event": "Order Completed", "properties": {"total": 9}},
         "Order Completed", {"total": 9}),
        ({"type": "page", "name": "Home", "properties": {"url": "https://x.example/"}},
         "page-view", {"url": "https://x.example/", "name": "Home"}),
        ({"type": "screen", "name": "Cart", "category": "Shop"},
         "screen-view", {"name": "Cart", "category": "Shop"}),
        ({"type": "page", "name": "Home", "properties": {"name": "Mine"}},
         "page-view", {"name": "Mine"}),
        ({"type": "identify", "traits": {"email": "a@b.example"}},
         "identify", {"email": "a@b.example"}),
        ({"type": "identify", "traits": {"plan": "pro"},
          "context": {"traits": {"email": "a@b.example", "plan": "free"}}},
         "identify", {"email": "a@b.example", "plan": "pro"}),
        ({"type": "group", "groupId": "g-1", "traits": {"plan": "pro"}},
         "group", {"groupId": "g-1", "traits": {"plan": "pro"}}),
    ],
)  # fmt: skip
def test_each_call_type_maps_to_its_event(make_source, make_meta, message, event_type, properties):
    batch = batch_of({**message, "userId": "u", "messageId": "m"})

    [event] = events_of(build_segment_batches(batch, make_source(), make_meta(), LIMITS))

    assert event["type"] == event_type
    assert decoded(event, "properties") == properties
    assert decoded(event, "options")["segment"] == {"type": message["type"], "messageId": "m"}


def test_alias_names_the_profiles_its_previous_id_may_stand_for(make_source, make_meta):
    source = make_source()
    batch = batch_of({"type": "alias", "previousId": "old-1", "userId": "u", "messageId": "m"})
    anonymous = batch_of({"type": "track", "event": "E", "anonymousId": "old-1"})
    known = batch_of({"type": "track", "event": "E", "userId": "old-1"})

    [event] = events_of(build_segment_batches(batch, source, make_meta(), LIMITS))
    earlier = [
        build_segment_batches(b, source, make_meta(), LIMITS)[0].profile_id
        for b in (anonymous, known)
    ]

    assert event["type"] == "alias"
    assert decoded(event, "properties") == {
        "previousId": "old-1",
        "userId": "u",
        "previous_profiles": earlier,
    }


def test_batch_context_and_integrations_apply_to_each_message(make_source, make_meta):
    batch = batch_of(
        {"type": "track", "event": "E", "userId": "u", "context": {"page": {"path": "/a"}}},
        {
            "type": "track",
            "event": "F",
            "userId": "u",
            "context": {"library": {"name": "mine"}},
            "integrations": {"All": False},
        },
        context={"library": {"name": "analytics-python"}, "ip": "198.51.100.4"},
        integrations={"All": True, "Mixpanel": False},
    )

    accepted = build_segment_batches(batch, make_source(), make_meta(), LIMITS)
    events = events_of(accepted)
    # the batch's context travels once, as the record's; each event keeps its own keys
    assert orjson.loads(accepted[0].record["context"]) == {
        "library": {"name": "analytics-python"},
        "ip": "198.51.100.4",
    }
    assert decoded(events[0], "context") == {"page": {"path": "/a"}}
    assert decoded(events[1], "context") == {"library": {"name": "mine"}}
    effective = [
        {**orjson.loads(accepted[0].record["context"]), **decoded(e, "context")} for e in events
    ]
    assert effective[0] == {
        "library": {"name": "analytics-python"},
        "ip": "198.51.100.4",
        "page": {"path": "/a"},
    }
    assert effective[1] == {
        "library": {"name": "mine"},
        "ip": "198.51.100.4",
    }
    assert decoded(events[0], "options")["segment"]["integrations"] == {
        "All": True,
        "Mixpanel": False,
    }
    assert decoded(events[1], "options")["segment"]["integrations"] == {
        "All": False,
        "Mixpanel": False,
    }


def test_bots_are_tagged_from_the_context_user_agent_or_the_requests(make_source, make_meta):
    batch = batch_of(
        {"type": "page", "anonymousId": "a", "context": {"userAgent": "Googlebot/2.1"}},
        {"type": "page", "anonymousId": "a", "context": {"userAgent": "Mozilla/5.0 Firefox/120"}},
        {"type": "page", "anonymousId": "a"},
    )
    from_crawler = make_meta(user_agent="Mozilla/5.0 (compatible; bingbot/2.0)")

    events = events_of(build_segment_batches(batch, make_source(), from_crawler, LIMITS))

    assert [e["tags"] for e in events] == [["bot"], [], ["bot"]]


def test_message_over_the_event_limit_is_413_naming_it(make_source, make_meta):
    big = {"type": "track", "event": "E", "userId": "u", "properties": {"x": "y" * 40_000}}
    batch = batch_of({"type": "track", "event": "E", "userId": "u"}, big)

    with pytest.raises(PayloadTooLarge) as caught:
        build_segment_batches(batch, make_source(), make_meta(), LIMITS)

    assert caught.value.field == "batch[1]"
    single = parse_segment_batch(orjson.dumps({"batch": [big]}))
    with pytest.raises(PayloadTooLarge) as alone:
        build_segment_batches(single, make_source(), make_meta(), LIMITS, single=True)
    assert alone.value.field == "body"
