"""Segments entered and left between two profile documents, and the events they make."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.core.flows import Rule, triggered_rules
from headwater.core.profiles import Profile
from headwater.core.segments import (
    Segment,
    segment_changes,
    segment_events,
    segment_from_config,
)
from headwater.errors import ConditionSyntaxError, FlowInvalid

NOW = 1_764_400_000_000
SEGMENTS = [
    Segment("regulars", "profile.stats.visits >= 3"),
    Segment("pro", 'profile.traits.plan = "pro"'),
    Segment("recent", "profile.metadata.time.last_visit > now - 7d"),
]


def document(
    visits: int = 0, plan: str | None = None, segments: list[str] | None = None
) -> dict[str, Any]:
    profile = Profile.new("acme", "production", "p1")
    profile.visits = visits
    profile.last_seen = NOW - 30 * 86_400_000
    if plan is not None:
        profile.traits["plan"] = plan
    profile.segments = list(segments or [])
    return profile.snapshot()


def test_a_new_profile_enters_what_it_matches() -> None:
    changes = segment_changes(None, document(visits=3), SEGMENTS, NOW)
    assert changes.entered == ("regulars",) and changes.left == ()
    assert changes.segments == ["regulars"]


def test_entered_and_left_by_the_listed_membership() -> None:
    old = document(visits=3, segments=["regulars", "manual"])
    new = document(visits=3, plan="pro", segments=["regulars", "manual"])
    new["stats"]["visits"] = 2  # no longer a regular
    changes = segment_changes(old, new, SEGMENTS, NOW)
    assert changes.entered == ("pro",)
    assert changes.left == ("regulars",)
    assert changes.segments == ["manual", "pro"]  # segments without a definition stay


def test_no_change_no_events() -> None:
    doc = document(visits=5, segments=["regulars"])
    changes = segment_changes(doc, doc, SEGMENTS, NOW)
    assert (
        changes.entered,
        changes.left,
        segment_events(changes, cause_event_id="e1", now_ms=NOW),
    ) == ((), (), [])


def test_now_is_the_event_time() -> None:
    doc = document()
    assert segment_changes(None, doc, SEGMENTS, NOW).entered == ()
    assert segment_changes(None, doc, SEGMENTS, NOW - 25 * 86_400_000).entered == ("recent",)


def test_events_are_stable_and_trigger_rules() -> None:
    old = document(visits=3, segments=["regulars"])
    new = document(visits=1, plan="pro", segments=["regulars"])
    changes = segment_changes(old, new, SEGMENTS, NOW)
    events = segment_events(changes, cause_event_id="e1", now_ms=NOW)
    assert [(e["type"], e["properties"]["segment"]) for e in events] == [
        ("segment-entered", "pro"),
        ("segment-left", "regulars"),
    ]
    assert events == segment_events(changes, cause_event_id="e1", now_ms=NOW)
    assert {e["caused_by"]["depth"] for e in events} == {1}
    rule = Rule("r", "welcome-pro", "segment-entered", condition='event.properties.segment = "pro"')
    fired = [
        triggered_rules(
            [rule],
            event_type=e["type"],
            source_id="internal",
            scope={"event": e, "profile": new},
            now_ms=NOW,
        )
        for e in events
    ]
    assert fired == [[rule], []]


def test_a_definition_must_parse() -> None:
    with pytest.raises(ConditionSyntaxError):
        Segment("bad", "profile.stats.visits >")


def test_segments_from_configuration() -> None:
    entry = {"id": "vip", "name": "VIPs", "condition": "profile.stats.visits > 10"}
    assert segment_from_config(entry) == Segment("vip", "profile.stats.visits > 10", "VIPs")
    with pytest.raises(FlowInvalid) as caught:
        segment_from_config({"id": "", "condition": "profile.stats.visits >"})
    assert caught.value.problems[0] == "id must be a non-empty string"
    assert caught.value.problems[1].startswith("condition: unexpected the end")
