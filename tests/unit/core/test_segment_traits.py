"""Segment ``identify`` and ``group`` traits reach the profile by default, as at every
Segment destination; a configured mapping that names a trait sends it where it says."""

from __future__ import annotations

from typing import Any

import orjson

from headwater.core.intake import IntakeLimits
from headwater.core.mapping import BUILTIN_MAPPINGS, EventMapping, FieldMapping
from headwater.core.profiles import FoldRules, Profile, apply_batch
from headwater.core.segment import parse_segment_batch
from headwater.core.segment_mapping import build_segment_batches
from tests.unit.core.profile_batches import ORIGIN

LIMITS = IntakeLimits(max_event_bytes=32 * 1024, max_request_bytes=500 * 1024)


def folded(codec, source, meta, *messages: dict[str, Any], rules: FoldRules | None = None):
    """The profile the Segment ``messages`` (one device) fold into, through the codec."""
    batch = parse_segment_batch(orjson.dumps({"batch": list(messages)}))
    [accepted] = build_segment_batches(batch, source, meta, LIMITS)
    record = codec.decode("intake_batch", codec.encode("intake_batch", accepted.record))
    profile = Profile.new("acme", "production", accepted.profile_id)
    apply_batch(profile, record, ORIGIN, 0, rules or FoldRules())
    return profile


def test_identify_traits_become_profile_traits(codec, make_source, make_meta):
    profile = folded(
        codec,
        make_source(),
        make_meta(),
        {"type": "identify", "userId": "u-1", "traits": {"name": "User One", "plan": "pro"}},
    )

    assert profile.traits == {"name": "User One", "plan": "pro"}
    assert profile.data["identifier"] == {"customer_id": "u-1"}


def test_identify_traits_in_context_count_too_and_email_is_also_contact(
    codec, make_source, make_meta
):
    profile = folded(
        codec,
        make_source(),
        make_meta(),
        {
            "type": "identify",
            "anonymousId": "d-1",
            "traits": {"plan": "pro"},
            "context": {"traits": {"email": "ann@example.com", "plan": "free"}},
        },
    )

    assert profile.traits == {"email": "ann@example.com", "plan": "pro"}
    assert profile.data["contact"] == {"email": "ann@example.com"}


def test_group_traits_become_the_profiles_group_data(codec, make_source, make_meta):
    profile = folded(
        codec,
        make_source(),
        make_meta(),
        {"type": "group", "userId": "u-1", "groupId": "g-1", "traits": {"name": "Acme"}},
        {"type": "group", "userId": "u-1", "groupId": "g-2", "traits": {"plan": "pro"}},
    )

    assert profile.data["group"] == {"id": "g-2", "traits": {"name": "Acme", "plan": "pro"}}
    assert profile.data["groups"] == ["g-1", "g-2"]
    assert profile.traits == {}


def test_a_configured_mapping_sends_a_named_trait_where_it_says(codec, make_source, make_meta):
    moved = EventMapping("identify", (FieldMapping("properties.plan", "data.billing.plan"),))
    rules = FoldRules(mappings=(*BUILTIN_MAPPINGS, moved))

    profile = folded(
        codec,
        make_source(),
        make_meta(),
        {"type": "identify", "userId": "u-1", "traits": {"name": "User One", "plan": "pro"}},
        rules=rules,
    )

    assert profile.traits == {"name": "User One"}
    assert profile.data["billing"] == {"plan": "pro"}


def test_tracker_identify_events_do_not_copy_their_properties_into_traits(make_batch):
    batch = make_batch(
        [{"type": "identify", "properties": {"email": "a@example.com", "traits": {"x": 1}}}]
    )
    profile = Profile.new("acme", "production", "p-1")
    apply_batch(profile, batch, ORIGIN, 0, FoldRules())

    assert profile.traits == {"x": 1}
