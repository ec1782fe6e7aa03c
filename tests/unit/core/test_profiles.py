"""Profiles as a fold over intake batches, fed the way the profile agent gets them: a
/track body through intake and the real codec, so event times are decoded datetimes."""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import pytest

from headwater.core.profiles import FoldRules, Profile, apply_batch
from headwater.core.sessions import SessionState
from tests.unit.core.profile_batches import (
    BASE,
    ORIGIN,
    RULES,
    Batch,
    event,
    fold,
    identify,
    ms,
    new_profile,
)
from tests.unit.factories import millis

# --- counts --------------------------------------------------------------------------


def test_decoded_batches_carry_datetime_event_times(make_batch):
    batch = make_batch([event(minutes=5)])

    assert batch["events"][0]["time"] == BASE + timedelta(minutes=5)


def test_thousand_events_over_fifty_profiles_are_counted_exactly(make_batch):
    rng = random.Random(20261128)
    types = ["page-view", "product-viewed", "product-added-to-basket", "purchase", "search"]
    sent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _ in range(1000):
        profile_id = f"p-{rng.randrange(50)}"
        sent[profile_id].append(event(rng.choice(types), rng.uniform(0, 24 * 60)))
    assert len(sent) == 50

    # each profile's events cut into batches of random sizes, then interleaved
    batches: list[tuple[str, Batch]] = []
    for profile_id, events in sent.items():
        start = 0
        while start < len(events):
            size = rng.randint(1, 40)
            chunk = events[start : start + size]
            start += size
            session = rng.choice([None, f"s-{profile_id}-{start}"])
            batches.append((profile_id, make_batch(chunk, session=session, profile=profile_id)))
    rng.shuffle(batches)

    profiles = {profile_id: new_profile(profile_id) for profile_id in sent}
    applied = 0
    for offset, (profile_id, batch) in enumerate(batches):
        result = apply_batch(profiles[profile_id], batch, ORIGIN, offset, RULES)
        assert result.duplicates == 0
        applied += len(result.applied)

    assert applied == 1000
    assert sum(p.events for p in profiles.values()) == 1000
    for profile_id, events in sent.items():
        profile = profiles[profile_id]
        assert profile.events == len(events)
        assert profile.version == len(events)
        assert profile.by_type == dict(Counter(e["type"] for e in events))
        assert profile.first_seen == min(millis(e["time"]["create"]) for e in events)
        assert profile.last_seen == max(millis(e["time"]["create"]) for e in events)
        assert sum(s.events for s in profile.sessions) == len(events)


def test_version_grows_by_one_per_applied_event(make_batch):
    profile = new_profile()

    first = apply_batch(profile, make_batch([event(), event(minutes=1)]), ORIGIN, 0, RULES)
    second = apply_batch(
        profile,
        make_batch([event(minutes=2), event(minutes=3), event(minutes=4)]),
        ORIGIN,
        1,
        RULES,
    )

    assert [a.profile_version for a in first.applied] == [1, 2]
    assert [a.profile_version for a in second.applied] == [3, 4, 5]
    assert profile.version == 5
    assert profile.events == 5


def test_applied_events_name_their_session(make_batch):
    profile = new_profile()

    result = apply_batch(
        profile, make_batch([event(), event(minutes=1)], session="s-9"), ORIGIN, 0, RULES
    )

    assert [a.session_id for a in result.applied] == ["s-9", "s-9"]
    assert [a.event["type"] for a in result.applied] == ["page-view", "page-view"]
    assert list(result.sessions) == ["s-9"]
    assert result.sessions["s-9"].events == 2


# --- event time ----------------------------------------------------------------------


def test_first_and_last_seen_follow_event_time_not_arrival(make_batch):
    profile = fold(
        [
            make_batch([event(minutes=60)]),
            make_batch([event(minutes=10), event(minutes=90)]),
            make_batch([event(minutes=30)]),  # arrives last, happened in between
        ]
    )

    assert profile.first_seen == ms(10)
    assert profile.last_seen == ms(90)
    assert profile.snapshot()["metadata"]["time"] == {
        "first_visit": ms(10),
        "last_visit": ms(90),
    }


# --- visits ---------------------------------------------------------------------------


@pytest.mark.parametrize(("minutes_apart", "visits"), [(31, 2), (29, 1)])
def test_visits_count_collector_assigned_sessions_by_gap(make_batch, minutes_apart, visits):
    first = make_batch([event(minutes=0)], session=None)
    second = make_batch([event(minutes=minutes_apart)], session=None)
    assert first["session_assigned"] is True
    assert second["session_id"] != first["session_id"]

    profile = fold([first, second])

    assert profile.visits == visits
    assert len(profile.sessions) == visits
    assert profile.snapshot()["stats"]["visits"] == visits


def test_late_event_joins_its_session_and_is_not_a_visit(make_batch):
    profile = fold(
        [
            make_batch([event(minutes=0)], session=None),
            make_batch([event(minutes=20)], session=None),
            make_batch([event(minutes=5)], session=None),  # late, inside the session
            make_batch([event(minutes=-10)], session=None),  # earlier, within the gap
        ]
    )

    assert profile.visits == 1
    (session,) = profile.sessions
    assert (session.start, session.last, session.events) == (ms(-10), ms(20), 4)


def test_one_collector_batch_spanning_a_gap_makes_two_visits_with_a_derived_id(make_batch):
    batch = make_batch([event(minutes=0), event(minutes=45)], session=None)

    profile = new_profile()
    result = apply_batch(profile, batch, ORIGIN, 0, RULES)

    assert profile.visits == 2
    ids = [a.session_id for a in result.applied]
    assert ids[0] == batch["session_id"]
    assert ids[1] not in (batch["session_id"], batch["events"][1]["id"])
    assert len(set(ids)) == 2


def test_client_named_session_is_one_visit_however_long(make_batch):
    profile = fold(
        [
            make_batch([event(minutes=0)], session="s-long"),
            make_batch([event(minutes=300)], session="s-long"),
            make_batch([event(minutes=600)], session="s-long"),
        ]
    )

    assert profile.visits == 1
    assert [(s.id, s.events) for s in profile.sessions] == [("s-long", 3)]


def test_session_keeps_device_and_page_context_of_its_first_event(make_batch):
    page = {"url": "https://shop.example.com/p/a-1001", "title": "Trail shoe"}
    profile = fold([make_batch([event(context={"page": page})])])

    (session,) = profile.sessions
    assert set(session.context) == {"device", "browser", "screen", "utm", "page"}
    assert session.context["page"] == page
    assert session.context["utm"] == {
        "source": "newsletter",
        "medium": "email",
        "campaign": "black-friday",
    }


# --- storage and snapshot -------------------------------------------------------------


def varied_batches(make_batch) -> list[Batch]:
    return [
        make_batch([event(minutes=0), event("product-viewed", 2)], session=None),
        make_batch(
            [identify(3, email="ada@example.com", traits={"plan": "pro", "code": "007"})],
            session="s-client",
        ),
        make_batch([event(minutes=50), event(minutes=200)], session=None),
        make_batch([event("purchase", 1, properties={"total": 12.5})], session=None),
    ]


def test_dumps_loads_round_trips_exactly(make_batch):
    profile = fold(varied_batches(make_batch))
    assert len(profile.sessions) >= 3

    raw = profile.dumps()
    loaded = Profile.loads(raw)

    assert loaded == profile
    assert loaded.dumps() == raw
    assert all(isinstance(s, SessionState) for s in loaded.sessions)
    assert [s.to_dict() for s in loaded.sessions] == [s.to_dict() for s in profile.sessions]


def test_a_loaded_profile_folds_on_like_the_original(make_batch):
    batches = varied_batches(make_batch)
    straight = fold(batches)

    half = fold(batches[:2])
    resumed = Profile.loads(half.dumps())
    for offset, batch in enumerate(batches[2:], start=2):
        apply_batch(resumed, batch, ORIGIN, offset, RULES)

    assert resumed.dumps() == straight.dumps()


def test_snapshot_has_id_stats_and_version(make_batch):
    profile = fold(varied_batches(make_batch))

    snapshot = profile.snapshot()

    assert snapshot["id"] == "p-1"
    assert (snapshot["tenant"], snapshot["env"]) == ("acme", "production")
    assert snapshot["ids"] == ["p-1"]
    assert snapshot["version"] == profile.version == 6
    assert snapshot["stats"]["events"] == 6
    assert snapshot["stats"]["visits"] == profile.visits == 4
    assert snapshot["stats"]["by_type"] == {
        "page-view": 3,
        "product-viewed": 1,
        "identify": 1,
        "purchase": 1,
    }
    assert snapshot["data"] == {"contact": {"email": "ada@example.com"}}
    assert snapshot["metadata"]["field_times"]["traits.plan"] == ms(3)


def test_new_profile_is_empty():
    profile = new_profile("p-7")

    assert profile.snapshot()["stats"] == {"events": 0, "visits": 0, "by_type": {}}
    assert profile.snapshot()["metadata"]["time"] == {"first_visit": None, "last_visit": None}
    assert Profile.loads(profile.dumps()) == profile


# --- determinism ----------------------------------------------------------------------


def test_same_batches_fold_into_equal_profiles(make_batch):
    batches = varied_batches(make_batch)

    one = fold(batches)
    two = fold(batches)

    assert one.dumps() == two.dumps()
    assert one.snapshot() == two.snapshot()


def test_fold_does_not_change_the_batches(make_batch):
    batches = varied_batches(make_batch)
    copies = [json.loads(json.dumps(b, default=repr)) for b in batches]

    fold(batches)

    assert [json.loads(json.dumps(b, default=repr)) for b in batches] == copies


def test_custom_gap_rule_changes_visits(make_batch):
    batches = [
        make_batch([event(minutes=0)], session=None),
        make_batch([event(minutes=10)], session=None),
    ]
    profile = new_profile()
    for offset, batch in enumerate(batches):
        apply_batch(profile, batch, ORIGIN, offset, FoldRules(session_gap_ms=5 * 60 * 1000))

    assert profile.visits == 2


def test_a_late_event_joining_two_visits_makes_them_one(make_batch):
    profile = new_profile()
    rules = FoldRules()
    apply_batch(profile, make_batch([event(minutes=0)], session=None), "hw.intake/0", 0, rules)
    apply_batch(profile, make_batch([event(minutes=40)], session=None), "hw.intake/0", 1, rules)
    assert profile.visits == 2
    kept, gone = sorted(profile.sessions, key=lambda s: s.start)

    late = apply_batch(
        profile, make_batch([event(minutes=20)], session=None), "hw.intake/0", 2, rules
    )

    assert profile.visits == 1
    assert late.absorbed == {gone.id: kept.id}
    assert list(late.sessions) == [kept.id]
    assert [s.id for s in profile.sessions] == [kept.id]
    assert profile.sessions[0].events == 3
