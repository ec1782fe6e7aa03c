"""Sessions by event time: client-named sessions by id, collector-assigned ones by window."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from headwater.core.sessions import (
    DEFAULT_GAP_MS,
    KEEP_SESSIONS,
    SessionState,
    place_event,
)
from tests.unit.factories import millis

T0 = millis("2026-11-28T14:00:00+00:00")
MINUTE = 60 * 1000


def place(
    sessions: list[SessionState],
    time: int,
    session_id: str = "s-1",
    *,
    client_named: bool = False,
    event_id: str | None = None,
    context: dict[str, Any] | None = None,
    **kwargs: Any,
) -> tuple[SessionState, bool]:
    placement = place_event(
        sessions,
        time=time,
        session_id=session_id,
        client_named=client_named,
        event_id=event_id or f"e-{time}",
        context={} if context is None else context,
        **kwargs,
    )
    return placement.session, placement.created


# --- client-named sessions -------------------------------------------------------------


def test_client_named_session_is_kept_by_id_and_created_once():
    sessions: list[SessionState] = []

    first, created_first = place(sessions, T0, "client-s", client_named=True)
    # hours later, still the same session: the client says so
    second, created_second = place(sessions, T0 + 180 * MINUTE, "client-s", client_named=True)

    assert (created_first, created_second) == (True, False)
    assert second is first
    assert len(sessions) == 1
    assert (first.id, first.start, first.last, first.events) == (
        "client-s",
        T0,
        T0 + 180 * MINUTE,
        2,
    )


def test_client_named_sessions_are_not_joined_by_time():
    sessions: list[SessionState] = []

    place(sessions, T0, "client-a", client_named=True)
    other, created = place(sessions, T0 + MINUTE, "client-b", client_named=True)

    assert created is True
    assert other.id == "client-b"
    assert [s.id for s in sessions] == ["client-a", "client-b"]


# --- collector-assigned sessions: joined by event time ---------------------------------


def test_default_gap_is_thirty_minutes():
    assert DEFAULT_GAP_MS == 30 * MINUTE


@pytest.mark.parametrize(
    ("later", "joins"),
    [
        (29 * MINUTE, True),
        (30 * MINUTE, True),  # the window edge is inclusive
        (30 * MINUTE + 1, False),
        (31 * MINUTE, False),
    ],
)
def test_assigned_session_joins_within_the_gap(later, joins):
    sessions: list[SessionState] = []
    first, _ = place(sessions, T0, "assigned-1")

    second, created = place(sessions, T0 + later, "assigned-2")

    assert created is not joins
    assert (second is first) is joins
    assert len(sessions) == (1 if joins else 2)
    if joins:
        assert (first.start, first.last, first.events) == (T0, T0 + later, 2)
    else:
        assert second.id == "assigned-2"
        assert (second.start, second.last, second.events) == (T0 + later, T0 + later, 1)
        assert (first.last, first.events) == (T0, 1)


def test_gap_is_measured_from_the_last_event_not_the_first():
    sessions: list[SessionState] = []
    first, _ = place(sessions, T0, "a")
    for step in range(1, 5):  # 20-minute steps: each within the gap of the previous one
        same, created = place(sessions, T0 + step * 20 * MINUTE, f"a{step}")
        assert same is first
        assert created is False

    assert (first.start, first.last, first.events) == (T0, T0 + 80 * MINUTE, 5)
    assert first.duration == 80 * MINUTE


def test_custom_gap_is_honoured():
    sessions: list[SessionState] = []
    place(sessions, T0, "a", gap=5 * MINUTE)

    _, created_near = place(sessions, T0 + 5 * MINUTE, "b", gap=5 * MINUTE)
    _, created_far = place(sessions, T0 + 11 * MINUTE, "c", gap=5 * MINUTE)

    assert (created_near, created_far) == (False, True)
    assert len(sessions) == 2


def test_out_of_order_event_inside_the_window_joins_without_moving_start():
    sessions: list[SessionState] = []
    session, _ = place(sessions, T0, "a")
    place(sessions, T0 + 20 * MINUTE, "b")

    late, created = place(sessions, T0 + 5 * MINUTE, "c")  # arrives last, happened between

    assert late is session
    assert created is False
    assert (session.start, session.last, session.events) == (T0, T0 + 20 * MINUTE, 3)


def test_earlier_event_within_the_gap_joins_and_moves_start():
    sessions: list[SessionState] = []
    session, _ = place(sessions, T0, "a")

    early, created = place(sessions, T0 - 10 * MINUTE, "b")

    assert early is session
    assert created is False
    assert (session.start, session.last, session.events) == (T0 - 10 * MINUTE, T0, 2)


def test_event_far_before_every_session_opens_its_own():
    sessions: list[SessionState] = []
    place(sessions, T0, "a")

    early, created = place(sessions, T0 - 31 * MINUTE, "b")

    assert created is True
    assert early.id == "b"
    assert len(sessions) == 2


def test_an_event_within_two_windows_joins_them_into_the_earliest():
    sessions: list[SessionState] = []
    morning, _ = place(sessions, T0, "morning")
    place(sessions, T0 + 50 * MINUTE, "noon")  # 50 min later: its own session

    # both windows hold T0 + 20 min: the gap between them is closed
    chosen, created = place(sessions, T0 + 20 * MINUTE, "x")

    assert created is False
    assert chosen is morning
    assert sessions == [morning]
    assert (morning.start, morning.last, morning.events) == (T0, T0 + 50 * MINUTE, 3)


def test_collector_event_in_a_client_named_session_window_joins_it():
    """Collector-assigned events are placed by time against every known session."""
    sessions: list[SessionState] = []
    named, _ = place(sessions, T0, "client-s", client_named=True)

    chosen, created = place(sessions, T0 + MINUTE, "assigned-1")

    assert created is False
    assert chosen is named


# --- ids -----------------------------------------------------------------------------


def test_taken_assigned_id_gets_a_stable_derived_id():
    sessions: list[SessionState] = []
    place(sessions, T0, "batch-s", event_id="e-1")

    # same assigned session id (one batch), but an hour later: a new session
    later, created = place(sessions, T0 + 60 * MINUTE, "batch-s", event_id="e-2")

    assert created is True
    assert later.id != "batch-s"
    assert uuid.UUID(later.id).version == 5
    assert [s.id for s in sessions] == ["batch-s", later.id]

    # the derived id depends only on (session id, event id): replaying gives the same one
    again: list[SessionState] = []
    place(again, T0, "batch-s", event_id="e-1")
    replayed, _ = place(again, T0 + 60 * MINUTE, "batch-s", event_id="e-2")
    assert replayed.id == later.id

    other: list[SessionState] = []
    place(other, T0, "batch-s", event_id="e-1")
    different, _ = place(other, T0 + 60 * MINUTE, "batch-s", event_id="e-3")
    assert different.id != later.id


def test_free_assigned_id_is_used_as_is():
    sessions: list[SessionState] = []

    session, created = place(sessions, T0, "assigned-9")

    assert created is True
    assert session.id == "assigned-9"
    assert sessions == [session]


# --- bounded memory ------------------------------------------------------------------


def test_at_most_keep_sessions_are_kept_dropping_the_oldest_by_last_event():
    sessions: list[SessionState] = []
    spacing = 2 * DEFAULT_GAP_MS
    for n in range(KEEP_SESSIONS + 5):
        place(sessions, T0 + n * spacing, f"s-{n}")

    assert len(sessions) == KEEP_SESSIONS
    assert sorted(s.id for s in sessions) == sorted(f"s-{n}" for n in range(5, KEEP_SESSIONS + 5))


def test_dropping_goes_by_last_event_not_by_creation_order():
    sessions: list[SessionState] = []
    spacing = 2 * DEFAULT_GAP_MS
    # created first, but its event is the most recent of all
    place(sessions, T0 + 1000 * spacing, "created-first")
    for n in range(1, KEEP_SESSIONS):
        place(sessions, T0 + n * spacing, f"s-{n}")
    assert len(sessions) == KEEP_SESSIONS

    place(sessions, T0 + 500 * spacing, "newest")

    ids = {s.id for s in sessions}
    assert len(sessions) == KEEP_SESSIONS
    assert "created-first" in ids
    assert "newest" in ids
    assert "s-1" not in ids  # the oldest last event goes
    assert "s-2" in ids


# --- context and serialisation -------------------------------------------------------


def test_session_context_keeps_only_device_page_utm_browser_screen_os_app():
    kept = {
        "device": {"id": "d-1"},
        "page": {"url": "https://shop.example.com/"},
        "utm": {"source": "newsletter"},
        "browser": {"name": "Firefox"},
        "screen": {"width": 1920},
        "os": {"name": "Linux"},
        "app": {"version": "1.2.3"},
    }
    dropped = {"storage": {"cookie": "x"}, "time": {"tz": "UTC"}, "ip": "203.0.113.7"}
    sessions: list[SessionState] = []

    session, _ = place(sessions, T0, context={**kept, **dropped})

    assert session.context == kept


def test_session_context_comes_from_the_first_event():
    sessions: list[SessionState] = []
    session, _ = place(sessions, T0, context={"page": {"url": "/first"}})

    place(sessions, T0 + MINUTE, context={"page": {"url": "/second"}, "utm": {"source": "x"}})

    assert session.context == {"page": {"url": "/first"}}


def test_session_state_dict_round_trip():
    sessions: list[SessionState] = []
    session, _ = place(sessions, T0, context={"utm": {"source": "newsletter"}})
    place(sessions, T0 + 3 * MINUTE)

    data = session.to_dict()
    restored = SessionState.from_dict(data)

    assert data == {
        "id": "s-1",
        "start": T0,
        "last": T0 + 3 * MINUTE,
        "events": 2,
        "context": {"utm": {"source": "newsletter"}},
        "named": False,
    }
    assert restored == session
    assert restored.duration == 3 * MINUTE


def test_late_events_older_than_every_kept_session_share_one_session():
    sessions: list[SessionState] = []
    spacing = 2 * DEFAULT_GAP_MS
    for n in range(KEEP_SESSIONS):
        place(sessions, T0 + n * spacing, f"s-{n}")

    late, created_first = place(sessions, T0 - 10 * spacing, "late-1")
    again, created_second = place(sessions, T0 - 10 * spacing + MINUTE, "late-2")

    assert created_first is True
    assert created_second is False  # one minute later: the same visit
    assert again.id == late.id


# --- a late event that bridges two sessions --------------------------------------------


def test_a_session_the_client_named_is_never_merged():
    sessions: list[SessionState] = []
    named, _ = place(sessions, T0, "client-s", client_named=True)
    inferred, _ = place(sessions, T0 + 40 * MINUTE, "assigned")

    chosen, _ = place(sessions, T0 + 20 * MINUTE, "late")  # within both windows

    assert chosen is named
    assert sessions == [named, inferred]


def test_a_late_event_between_two_sessions_merges_them():
    sessions: list[SessionState] = []
    place(sessions, T0, "a")  # 10:00
    place(sessions, T0 + 40 * MINUTE, "b")  # 10:40: over 30 minutes later, a new session

    placement = place_event(
        sessions,
        time=T0 + 20 * MINUTE,  # 10:20 arrives last and is within 30 minutes of both
        session_id="c",
        client_named=False,
        event_id="late",
        context={},
    )

    assert [s.id for s in sessions] == ["a"]
    assert placement.session.id == "a" and not placement.created
    assert [s.id for s in placement.absorbed] == ["b"]
    assert (placement.session.start, placement.session.last) == (T0, T0 + 40 * MINUTE)
    assert placement.session.events == 3


def test_arrival_order_does_not_change_the_sessions():
    times = [T0, T0 + 20 * MINUTE, T0 + 40 * MINUTE, T0 + 80 * MINUTE]
    results = []
    for order in ([0, 1, 2, 3], [2, 0, 3, 1], [3, 2, 1, 0]):
        sessions: list[SessionState] = []
        for index in order:
            place(sessions, times[index], f"s-{index}")
        results.append(sorted((s.start, s.last, s.events) for s in sessions))
    assert results[0] == [(T0, T0 + 40 * MINUTE, 3), (T0 + 80 * MINUTE, T0 + 80 * MINUTE, 1)]
    assert results[1] == results[0] and results[2] == results[0]
