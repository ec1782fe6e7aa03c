"""A flow's profile document kept in the profile agent's state."""

from __future__ import annotations

from headwater.core.flows import run_flow
from headwater.core.flows.apply import apply_profile_document, changed_paths
from headwater.core.flows.model import Flow
from headwater.core.flows.registry import ActionRegistry
from headwater.core.profiles import Profile
from tests.unit.core.flows.conftest import NOW, event_document


def test_a_flow_updates_traits_a_counter_and_a_segment_in_the_profile(
    registry: ActionRegistry,
) -> None:
    profile = Profile.new("acme", "production", "p1")
    profile.traits = {"name": "Ann", "tier": "basic"}
    flow = Flow.from_dict(
        {
            "id": "f",
            "nodes": [
                {"id": "s", "action": "start"},
                {"id": "t", "action": "update-traits", "config": {"traits": {"tier": "gold"}}},
                {"id": "c", "action": "increment-counter", "config": {"counter": "orders"}},
                {"id": "g", "action": "add-segment", "config": {"segment": "buyers"}},
            ],
            "edges": [{"from": "s", "to": "t"}, {"from": "t", "to": "c"}, {"from": "c", "to": "g"}],
        }
    )
    result = run_flow(
        flow, registry, event=event_document(), profile=profile.snapshot(), session={}, now_ms=NOW
    )
    changed = apply_profile_document(profile, result.profile, NOW)
    assert changed == ["traits.tier", "data.counters.orders", "segments"]
    assert profile.traits == {"name": "Ann", "tier": "gold"}
    assert profile.data == {"counters": {"orders": 1}}
    assert profile.segments == ["buyers"]
    assert profile.field_times == {path: NOW for path in changed}
    snapshot = profile.snapshot()
    assert snapshot["traits"]["tier"] == "gold" and snapshot["segments"] == ["buyers"]
    assert apply_profile_document(profile, result.profile, NOW + 1) == []


def test_changed_paths_are_typed() -> None:
    assert changed_paths({"a": 1, "b": {"c": True}}, {"a": 1.0, "b": {"c": 1}}, "t") == [
        "t.a",
        "t.b.c",
    ]
    assert changed_paths({"a": [1]}, {"a": [1], "d": None}, "t") == []
