"""Public input cannot grow a profile without bound: over a limit the event is applied
(counted, stored) and marked, and the profile is not grown by it."""

from __future__ import annotations

from typing import Any

import orjson

from headwater.core.mapping import BUILTIN_MAPPINGS, EventMapping, FieldMapping
from headwater.core.profiles import FoldRules, ProfileLimits, apply_batch
from tests.unit.core.profile_batches import ORIGIN, event, identify, new_profile

LIMITS = ProfileLimits(event_types=5, keys=4, value_bytes=200)
RULES = FoldRules(limits=LIMITS)


def _fold(make_batch: Any, events: list[dict[str, Any]], rules: FoldRules = RULES) -> Any:
    profile = new_profile()
    applied = []
    for offset, one in enumerate(events):
        result = apply_batch(profile, make_batch([one], profile="p-1"), ORIGIN, offset, rules)
        applied += result.applied
    return profile, applied


def test_distinct_event_types_stop_growing_at_the_limit(make_batch: Any) -> None:
    types = [f"type-{i:04d}-" + "x" * 118 for i in range(2_500)]
    profile = new_profile()
    batch = make_batch([event(t, i / 100) for i, t in enumerate(types)], profile="p-1")
    applied = apply_batch(profile, batch, ORIGIN, 0, RULES).applied

    assert profile.events == 2_500  # every event is applied and counted ...
    assert len(profile.by_type) == 5  # ... but only the first types get a counter
    assert applied[4].limits == []
    assert applied[5].limits == ["profile_max_event_types: 5 types counted"]
    assert len(profile.dumps()) < 20_000  # 5,000 types of 128 characters grew it to 665 KB


def test_a_known_type_keeps_counting_at_the_limit(make_batch: Any) -> None:
    events = [event(f"t{i}", i) for i in range(5)] + [event("t0", 10)] * 1
    profile, applied = _fold(make_batch, events)
    assert profile.by_type["t0"] == 2 and applied[-1].limits == []


def test_a_value_over_the_size_limit_is_left_out(make_batch: Any) -> None:
    big = "x" * 20_000
    profile, applied = _fold(make_batch, [identify(0, traits={"bio": big, "plan": "gold"})])

    assert profile.traits == {"plan": "gold"}
    assert applied[0].limits == ["profile_max_value_bytes: traits.bio"]
    assert applied[0].errors == []  # still a valid event: flows run, it is stored


def test_a_long_key_counts_against_the_value_size(make_batch: Any) -> None:
    profile, applied = _fold(make_batch, [identify(0, traits={"k" * 500: 1})])
    assert profile.traits == {}
    assert applied[0].limits[0].startswith("profile_max_value_bytes: traits.kkk")


def test_keys_per_object_are_bounded(make_batch: Any) -> None:
    events = [identify(i, traits={f"t{i}": i}) for i in range(10)]
    profile, applied = _fold(make_batch, events)

    assert sorted(profile.traits) == ["t0", "t1", "t2", "t3"]
    assert [a.limits for a in applied[4:]] == [["profile_max_keys: traits"]] * 6
    # a known key still changes
    profile2, applied2 = _fold(make_batch, [*events, identify(20, traits={"t1": "new"})])
    assert profile2.traits["t1"] == "new" and applied2[-1].limits == []


def test_items_of_one_appended_list_are_bounded(make_batch: Any) -> None:
    tags = EventMapping("tag", (FieldMapping("properties.tag", "data.tags", "append"),))
    rules = FoldRules(mappings=(*BUILTIN_MAPPINGS, tags), limits=LIMITS)
    events = [event("tag", i, properties={"tag": f"tag-{i}"}) for i in range(8)]
    events.append(event("tag", 20, properties={"tag": "tag-0"}))  # already there
    profile, applied = _fold(make_batch, events, rules)

    assert profile.data["tags"] == ["tag-0", "tag-1", "tag-2", "tag-3"]
    assert applied[4].limits == ["profile_max_keys: data.tags"]
    assert applied[-1].limits == []


def test_default_limits_hold_the_public_attack_from_the_report(make_batch: Any) -> None:
    """Requests of 2,500 distinct 128-character types each, one profile, default limits
    (after 5,000 types the profile was 665 KB)."""
    profile = new_profile()
    for offset in range(4):
        events = [event(f"{offset:02d}-{i:04d}-" + "y" * 120, 0) for i in range(2_500)]
        apply_batch(profile, make_batch(events, profile="p-1"), ORIGIN, offset, FoldRules())
    assert profile.events == 10_000
    assert len(profile.by_type) == ProfileLimits().event_types
    assert len(orjson.dumps(profile.snapshot())) < 100_000
