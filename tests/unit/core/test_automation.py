"""Rules, flows and segments after a fold (core/automation.py), with the real engine."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from headwater.core.automation import Automation, automate
from headwater.core.flows.model import Flow
from headwater.core.flows.registry import builtin_registry
from headwater.core.flows.rules import rule_from_config
from headwater.core.profiles import AppliedEvent, Profile
from headwater.core.segments import Segment

REGISTRY = builtin_registry()
T = int(datetime(2026, 11, 21, tzinfo=UTC).timestamp() * 1000)
FLOW = Flow.from_dict(
    {
        "id": "tag",
        "nodes": [
            {"id": "start", "action": "start"},
            {"id": "gold", "action": "update-traits", "config": {"traits": {"tier": "gold"}}},
            {"id": "hook", "action": "webhook", "config": {"url": "https://crm.example/h"}},
        ],
        "edges": [{"from": "start", "to": "gold"}, {"from": "gold", "to": "hook"}],
    }
)
RULE = rule_from_config({"id": "r", "flow_id": "tag", "event_type": "purchase"})


def applied(kind: str, depth: int = 0, errors: list[str] | None = None) -> AppliedEvent:
    options = {"caused_by": {"event": "x", "depth": depth}} if depth else {}
    event = {
        "id": f"e-{kind}-{depth}",
        "type": kind,
        "time": T,
        "properties": b"{}",
        "options": orjson.dumps(options) if options else b"{}",
    }
    return AppliedEvent(event, "s-1", 1, errors or [])


def test_a_triggered_flow_changes_the_profile_and_asks_for_a_side_effect():
    profile = Profile.new("acme", "production", "p")
    automation = Automation((RULE,), {"tag": FLOW})

    outcome = automate(profile, [applied("purchase")], None, automation, REGISTRY, "src")

    assert profile.traits == {"tier": "gold"}
    assert outcome.changed and profile.version == 1
    assert [r.kind for r in outcome.requests] == ["http"]
    again = automate(
        Profile.new("acme", "production", "p"),
        [applied("purchase")],
        None,
        automation,
        REGISTRY,
        "src",
    )
    assert again.requests[0].idempotency_key == outcome.requests[0].idempotency_key


def test_invalid_and_too_deep_events_trigger_nothing():
    profile = Profile.new("acme", "production", "p")
    automation = Automation((RULE,), {"tag": FLOW}, max_depth=2)

    outcome = automate(
        profile,
        [applied("purchase", errors=["bad"]), applied("purchase", depth=2)],
        None,
        automation,
        REGISTRY,
        "src",
    )

    assert outcome.requests == [] and profile.traits == {}


def test_entering_and_leaving_segments_makes_events_once():
    profile = Profile.new("acme", "production", "p")
    profile.visits = 3
    automation = Automation(segments=(Segment("loyal", "profile.stats.visits >= 3"),))

    outcome = automate(profile, [applied("page-view")], {"segments": []}, automation, REGISTRY, "s")
    before = profile.snapshot()
    profile.visits = 1
    left = automate(profile, [applied("page-view")], before, automation, REGISTRY, "s")

    assert [e["type"] for e in outcome.events] == ["segment-entered"]
    assert [e["type"] for e in left.events] == ["segment-left"]
    assert profile.segments == []


def test_a_webhook_on_entering_a_segment_sends_the_profile_id_by_default():
    profile = Profile.new("acme", "production", "p-42")
    profile.visits = 3
    hook = Flow.from_dict(
        {
            "id": "notify",
            "nodes": [
                {"id": "start", "action": "start"},
                {"id": "hook", "action": "webhook", "config": {"url": "https://crm.example/h"}},
            ],
            "edges": [{"from": "start", "to": "hook"}],
        }
    )
    rule = rule_from_config({"id": "r", "flow_id": "notify", "event_type": "segment-entered"})
    automation = Automation(
        (rule,), {"notify": hook}, segments=(Segment("loyal", "profile.stats.visits >= 3"),)
    )
    entered = automate(profile, [applied("page-view")], {"segments": []}, automation, REGISTRY, "s")
    [event] = entered.events  # goes back through intake, then triggers the rule
    caused = {"caused_by": event["caused_by"]}
    back = AppliedEvent(
        {**event, "properties": orjson.dumps(event["properties"]), "options": orjson.dumps(caused)},
        "s-1",
        2,
    )

    outcome = automate(profile, [back], profile.snapshot(), automation, REGISTRY, "internal")

    [request] = outcome.requests
    assert request.body == {"segment": "loyal", "profile_id": "p-42"}


def test_imported_events_with_flows_off_run_no_flow_but_still_segments():
    profile = Profile.new("acme", "production", "p")
    profile.visits = 3
    automation = Automation(
        (RULE,), {"tag": FLOW}, segments=(Segment("loyal", "profile.stats.visits >= 3"),)
    )

    outcome = automate(
        profile, [applied("purchase")], {"segments": []}, automation, REGISTRY, "s", flows=False
    )

    assert outcome.requests == [] and profile.traits == {}
    assert [e["type"] for e in outcome.events] == ["segment-entered"]
    assert profile.segments == ["loyal"]
