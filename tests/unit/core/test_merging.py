"""Merging profiles: counters once, strategies per field, operations (core/merging.py,
core/profile_ops.py)."""

from __future__ import annotations

from headwater.core.identity import MergeSettings
from headwater.core.merging import merge_profiles
from headwater.core.profile_ops import apply_op, claims_to_send, op
from headwater.core.profiles import Profile

SETTINGS = MergeSettings()


def profile(pid: str, **fields) -> Profile:
    made = Profile.new("acme", "production", pid)
    for name, value in fields.items():
        setattr(made, name, value)
    return made


def test_counters_are_summed_and_the_time_span_widened():
    survivor = profile("s", events=3, visits=2, by_type={"view": 3}, first_seen=50, last_seen=90)
    absorbed = profile(
        "a", events=4, visits=1, by_type={"view": 1, "buy": 3}, first_seen=10, last_seen=60
    )

    merge_profiles(survivor, absorbed, SETTINGS)

    assert (survivor.events, survivor.visits) == (7, 3)
    assert survivor.by_type == {"view": 4, "buy": 3}
    assert (survivor.first_seen, survivor.last_seen) == (10, 90)
    assert survivor.absorbed == ["a"] and "a" in survivor.ids
    assert survivor.merges == 1


def test_last_update_wins_by_event_time_and_strings_stay_strings():
    survivor = profile(
        "s",
        traits={"plan": "pro", "city": "Oslo"},
        field_times={"traits.plan": 100, "traits.city": 100},
    )
    absorbed = profile(
        "a",
        traits={"plan": "basic", "city": "Rome", "age": 40},
        field_times={"traits.plan": 200, "traits.city": 50},
    )

    merge_profiles(survivor, absorbed, SETTINGS)

    assert survivor.traits == {"plan": "basic", "city": "Oslo", "age": 40}
    assert survivor.field_times["traits.plan"] == 200


def test_configured_strategies():
    settings = MergeSettings(
        strategies={
            "traits.score": "max",
            "traits.spent": "sum",
            "traits.tags": "union",
            "traits.name": "first_update",
            "traits.tier": "keep_survivor",
            "traits.label": "union",
        }
    )
    survivor = profile(
        "s",
        traits={
            "score": 3,
            "spent": 10,
            "tags": ["a"],
            "name": "new",
            "tier": "gold",
            "label": "x",
        },
        field_times={"traits.name": 200, "traits.tier": 1, "traits.label": 1},
    )
    absorbed = profile(
        "a",
        traits={
            "score": 9,
            "spent": 5,
            "tags": ["a", "b"],
            "name": "old",
            "tier": "basic",
            "label": "y",
        },
        field_times={"traits.name": 100, "traits.tier": 500, "traits.label": 500},
    )

    merge_profiles(survivor, absorbed, settings)

    assert survivor.traits == {
        "score": 9,
        "spent": 15,
        "tags": ["a", "b"],
        "name": "old",
        "tier": "gold",
        "label": "y",  # union of two strings falls back to last update: never a list
    }


def test_absorb_sends_the_state_once_and_repoints_earlier_aliases():
    gone = profile("a", events=2, absorbed=["older"])

    first = apply_op(gone, op("absorb", "acme", "production", "a", "s"), SETTINGS)
    again = apply_op(gone, op("absorb", "acme", "production", "a", "s"), SETTINGS)

    assert first.changed and gone.merged_into == "s"
    assert [(o["op"], o["profile_id"], o["other"]) for o in first.ops] == [
        ("merge-in", "s", "a"),
        ("repoint", "older", "s"),
    ]
    assert not again.changed and again.ops == []


def test_merge_in_is_applied_once():
    survivor = profile("s", events=1)
    absorbed = profile("a", events=5)
    record = op("merge-in", "acme", "production", "s", "a", state=absorbed.dumps())

    assert apply_op(survivor, record, SETTINGS).reclaim is True
    assert apply_op(survivor, record, SETTINGS).changed is False
    assert survivor.events == 6


def test_merge_in_for_a_profile_merged_away_meanwhile_is_passed_on():
    middle = profile("b", merged_into="c")
    record = op("merge-in", "acme", "production", "b", "a", state=profile("a").dumps())

    outcome = apply_op(middle, record, SETTINGS)

    assert [o["profile_id"] for o in outcome.ops] == ["c"]
    assert middle.events == 0


def test_absorbing_into_a_profile_it_absorbed_is_refused():
    survivor = profile("s", absorbed=["x"])

    outcome = apply_op(survivor, op("absorb", "acme", "production", "s", "x"), SETTINGS)

    assert not outcome.changed and survivor.merged_into is None


def test_claims_are_sent_when_the_set_grows_and_inherited_ones_stay():
    person = profile("p", data={"contact": {"email": "a@b.co"}})

    first = claims_to_send(person, SETTINGS)
    unchanged = claims_to_send(person, SETTINGS)
    person.identifiers.append("phone:inherited")
    forced = claims_to_send(person, SETTINGS, force=True)

    assert len(first) == 1 and first[0].startswith("email:")
    assert unchanged == []
    assert set(forced) == {first[0], "phone:inherited"}


def test_forget_takes_the_absorbed_along_and_leaves_only_offsets_and_a_higher_version():
    person = profile("p", events=4, traits={"name": "Ann"}, absorbed=["old"], version=9)
    person.applied_offsets = {"hw.intake/0": {"floor": 41, "above": []}}

    outcome = apply_op(person, op("forget", "acme", "production", "p"), SETTINGS)
    blank = person.forgotten()

    assert outcome.forget is True
    assert [(o["op"], o["profile_id"]) for o in outcome.ops] == [("forget", "old")]
    assert (blank.events, blank.traits, blank.version) == (0, {}, 10)
    assert blank.applied_offsets == person.applied_offsets
    assert blank.snapshot() == {"id": "p", "tenant": "acme", "env": "production", "erased": True}
