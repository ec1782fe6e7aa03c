"""Redelivery and duplicates in the profile fold: applied offsets, late offsets, state
written by earlier versions, and the bounded memory of recent event ids."""

from __future__ import annotations

import orjson

from headwater.core.profiles import (
    RECENT_EVENT_IDS,
    Profile,
    apply_batch,
    event_digest,
    is_remembered,
)
from tests.unit.core.profile_batches import ORIGIN, RULES, event, new_profile

# --- at-least-once delivery -----------------------------------------------------------


def test_redelivery_of_the_same_offset_is_a_no_op(make_batch):
    profile = new_profile()
    batch = make_batch([event(), event(minutes=1)])
    apply_batch(profile, batch, ORIGIN, 7, RULES)
    before = profile.dumps()

    result = apply_batch(profile, batch, ORIGIN, 7, RULES)

    assert result.replayed is True
    assert result.applied == []
    assert result.sessions == {}
    assert result.duplicates == 0
    assert profile.dumps() == before
    assert (profile.events, profile.version) == (2, 2)


def test_a_lower_offset_not_applied_before_is_applied_late(make_batch):
    # Faust can drop queued messages at a rebalance and process later offsets first;
    # the dropped ones come back later and must still count.
    profile = new_profile()
    apply_batch(profile, make_batch([event()]), ORIGIN, 7, RULES)

    result = apply_batch(profile, make_batch([event(minutes=3)]), ORIGIN, 6, RULES)

    assert (result.replayed, result.late) == (False, True)
    assert profile.events == 2
    again = apply_batch(profile, make_batch([event(minutes=3)]), ORIGIN, 6, RULES)
    assert again.replayed is True
    assert profile.events == 2


def test_applied_offsets_are_per_partition(make_batch):
    profile = new_profile()
    apply_batch(profile, make_batch([event()]), ORIGIN, 7, RULES)

    result = apply_batch(profile, make_batch([event(minutes=1)]), "headwater.intake/4", 2, RULES)

    assert result.replayed is False
    assert profile.events == 2
    assert set(profile.applied_offsets) == {ORIGIN, "headwater.intake/4"}


def test_state_written_with_a_watermark_still_skips_what_it_covers(make_batch):
    profile = new_profile()
    state = orjson.loads(profile.dumps())
    del state["applied_offsets"]
    state["watermarks"] = {ORIGIN: 9}
    old = Profile.loads(orjson.dumps(state))

    assert apply_batch(old, make_batch([event()]), ORIGIN, 9, RULES).replayed is True
    assert apply_batch(old, make_batch([event()]), ORIGIN, 10, RULES).replayed is False


def test_same_event_id_at_a_higher_offset_is_counted_once(make_batch):
    profile = new_profile()
    sent = event("purchase", 5, event_id="evt-1", properties={"total": 10})
    apply_batch(profile, make_batch([sent]), ORIGIN, 0, RULES)
    before_version = profile.version

    # the client retried: same event id, a new request, a new offset
    result = apply_batch(
        profile, make_batch([sent, event(minutes=6, event_id="evt-2")]), ORIGIN, 1, RULES
    )

    assert result.replayed is False
    assert result.duplicates == 1
    assert [a.event["id"] for a in result.applied] == ["evt-2"]
    assert profile.events == 2
    assert profile.by_type == {"purchase": 1, "page-view": 1}
    assert profile.version == before_version + 1


def test_same_event_id_twice_in_one_batch_is_counted_once(make_batch):
    profile = new_profile()
    batch = make_batch([event(event_id="evt-1"), event(minutes=1, event_id="evt-1")])

    result = apply_batch(profile, batch, ORIGIN, 0, RULES)

    assert result.duplicates == 1
    assert len(result.applied) == 1
    assert profile.events == 1


def test_recent_ids_stay_bounded(make_batch):
    profile = new_profile()
    per_batch = 300
    sent_ids = [f"evt-{n}" for n in range(3 * per_batch)]
    for offset in range(3):
        ids = sent_ids[offset * per_batch : (offset + 1) * per_batch]
        batch = make_batch([event(minutes=offset, event_id=i) for i in ids])
        apply_batch(profile, batch, ORIGIN, offset, RULES)
        assert len(profile.recent) <= RECENT_EVENT_IDS * 16

    assert profile.events == 3 * per_batch
    kept = profile.recent
    assert all(is_remembered(kept, event_digest(i)) for i in sent_ids[-RECENT_EVENT_IDS:])
    assert not any(is_remembered(kept, event_digest(i)) for i in sent_ids[:-RECENT_EVENT_IDS])

    # an id still remembered is a duplicate
    result = apply_batch(
        profile, make_batch([event(minutes=5, event_id=sent_ids[-1])]), ORIGIN, 3, RULES
    )
    assert result.duplicates == 1
    assert profile.events == 3 * per_batch


def test_state_written_with_a_list_of_ids_still_knows_them(make_batch):
    profile = new_profile()
    state = orjson.loads(profile.dumps())
    del state["recent"]
    state["recent_ids"] = ["evt-old"]
    old = Profile.loads(orjson.dumps(state))

    result = apply_batch(old, make_batch([event(event_id="evt-old")]), ORIGIN, 3, RULES)

    assert result.duplicates == 1
    assert old.events == 0


def test_a_digest_is_remembered_only_at_a_digest_boundary():
    """The lookup searches the string of digests: a match straddling two digests is not
    one of them."""
    first, second = event_digest("evt-a"), event_digest("evt-b")
    recent = first + second
    straddling = recent[8:24]
    assert is_remembered(recent, first) and is_remembered(recent, second)
    assert not is_remembered(recent, straddling)
    assert is_remembered(recent + straddling, straddling)  # found later, aligned
    assert not is_remembered("", first)
