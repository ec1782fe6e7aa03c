"""The fast way of checking wire bodies (core/fast_wire.py) answers as the pydantic models do.

Every generated body goes through the parse and build functions twice: as they run, and
with the fast way switched off (the pydantic models alone, as before msgspec). The
outcomes must be equal: the same intake records, or the same error with the same status,
reason and field. The bodies mix what SDKs send with what the models coerce, strip or
refuse (padded and blank ids, numbers as ids and times, nulls, wide integers, long
strings), so both ways are taken.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any
from unittest import mock

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.core import intake, segment
from headwater.core.fast_wire import SLOW, segment_batch_from, tracker_from
from headwater.core.intake import IntakeLimits, RequestMeta, build_tracker_batch
from headwater.core.segment import SEGMENT_TYPES, parse_segment_batch, parse_segment_message
from headwater.core.segment_mapping import build_segment_batches
from headwater.core.sources import EventSource
from headwater.errors import HeadwaterError
from tests.unit.factories import SAMPLE_TRACK, SOURCE_ID

SOURCE = EventSource(id=SOURCE_ID, tenant="acme", env="production")
META = RequestMeta(received_at=1_764_331_200_000, ip="203.0.113.7", user_agent="curl/8.5")
LIMITS = IntakeLimits(max_event_bytes=2048, max_request_bytes=500 * 1024)
EXAMPLES = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
objects = st.dictionaries(st.text(max_size=6), json_values, max_size=4)
maybe_objects = objects | st.sampled_from([None, [], "x", {"userAgent": "Googlebot/2.1"}])
texts = st.sampled_from(
    ["page-view", " padded ", "", "\u2003em space", "tab\t", "x" * 128, "x" * 129, "x" * 257,
     "é-ü", "a b", "line\n", "Product Viewed"]
)  # fmt: skip
ids = texts | st.sampled_from([None, 0, 17, -3, 1.5, 2**70, True, "s-1", "ok:id.9_-"])
times = st.sampled_from(
    [None, "2026-11-28T12:00:00Z", "2026-11-28T12:00:00.123456+02:00", "2026-11-28T12:00:00",
     "2026-11-28", "2026-11-28 12:00:00", "2026-11-28T12:00:00.1234567Z", "garbage", "",
     1_764_331_200, 1_764_331_200_000, 17.5, True, {}]
)  # fmt: skip


def _counter() -> Callable[[], str]:
    numbers = itertools.count()
    return lambda: f"id-{next(numbers)}"


def _outcome(run: Callable[[], Any]) -> Any:
    try:
        return ("ok", run())
    except HeadwaterError as exc:
        return (type(exc).__name__, exc.status, exc.message, exc.field)


def _both(run: Callable[[], Any], module: Any, name: str) -> tuple[Any, Any]:
    """``run``'s outcome as the code runs, and with the fast way switched off."""
    fast = _outcome(run)
    with mock.patch.object(module, name, return_value=SLOW):
        slow = _outcome(run)
    return fast, slow


def _track(body: bytes) -> Any:
    payload = intake.parse_tracker_payload(body)
    return build_tracker_batch(payload, SOURCE, META, LIMITS, make_id=_counter())


def _segment_batch(body: bytes) -> Any:
    batch = parse_segment_batch(body)
    return build_segment_batches(batch, SOURCE, META, LIMITS, make_id=_counter())


tracker_events = st.fixed_dictionaries(
    {},
    optional={
        "type": texts | st.just(7),
        "id": ids,
        "time": st.none() | st.fixed_dictionaries({}, optional={"create": times}),
        "properties": maybe_objects,
        "context": maybe_objects,
        "options": maybe_objects,
        "tags": st.lists(st.sampled_from(["a", "b", 3]), max_size=3)
        | st.just(["t"] * 65)
        | st.just(["t"] * 64),
        "unknown": json_values,
    },
)
tracker_bodies = st.fixed_dictionaries(
    {},
    optional={
        "source": st.fixed_dictionaries({}, optional={"id": ids}) | st.none(),
        "session": st.none() | st.fixed_dictionaries({}, optional={"id": ids}),
        "profile": st.none() | st.fixed_dictionaries({}, optional={"id": ids}),
        "context": maybe_objects,
        "properties": maybe_objects,
        "options": maybe_objects,
        "events": st.lists(tracker_events, max_size=3),
        "profile_less": st.sampled_from([True, False, None, 1, "yes"]),
        "metadata": json_values,
    },
)


@EXAMPLES
@given(tracker_bodies)
def test_track_bodies_are_answered_as_the_models_answer_them(body):
    raw = json.dumps(body).encode()
    fast, slow = _both(lambda: _track(raw), intake, "tracker_from")
    assert fast == slow


segment_messages = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from([*SEGMENT_TYPES, None, "bogus", 3]),
        "userId": ids,
        "anonymousId": ids,
        "messageId": ids,
        "timestamp": times,
        "originalTimestamp": times,
        "sentAt": times,
        "context": maybe_objects
        | st.just(
            {"traits": {"plan": "pro"}, "userAgent": "Mozilla/5.0 (compatible; bingbot/2.0)"}
        ),
        "integrations": maybe_objects,
        "properties": maybe_objects,
        "traits": maybe_objects,
        "event": texts | st.none(),
        "name": texts | st.none(),
        "category": texts | st.none(),
        "groupId": ids,
        "previousId": ids,
        "writeKey": st.sampled_from(["wk", None, 5]),
        "_metadata": json_values,
    },
)


@EXAMPLES
@given(
    st.fixed_dictionaries(
        {"batch": st.lists(segment_messages, max_size=4)},
        optional={
            "context": maybe_objects,
            "integrations": maybe_objects,
            "sentAt": times,
            "writeKey": st.sampled_from(["wk", None, 5]),
        },
    )
)
def test_segment_batches_are_answered_as_the_models_answer_them(body):
    raw = json.dumps(body).encode()
    fast, slow = _both(lambda: _segment_batch(raw), segment, "segment_batch_from")
    assert fast == slow


@EXAMPLES
@given(segment_messages, st.sampled_from(SEGMENT_TYPES))
def test_segment_calls_are_answered_as_the_models_answer_them(body, kind):
    raw = json.dumps(body).encode()

    def run() -> Any:
        batch = parse_segment_message(raw, kind)
        return build_segment_batches(batch, SOURCE, META, LIMITS, make_id=_counter(), single=True)

    fast, slow = _both(run, segment, "segment_message_from")
    assert fast == slow


def _sdk_batch() -> dict[str, Any]:
    """What analytics-python sends: calls with ids, times and a context, batch metadata."""
    calls = [
        {
            "type": kind,
            "event": "Product Viewed" if kind == "track" else None,
            "name": "Product" if kind == "page" else None,
            "userId": f"user-{i}",
            "anonymousId": "7f1e6a0c-1b2d-4c3e-8f90-a1b2c3d4e5f6",
            "messageId": f"m-{i}",
            "timestamp": "2026-11-28T12:00:00.000+00:00",
            "properties": {"sku": f"SKU-{i}", "price": 19.9},
            "traits": {"plan": "pro"} if kind == "identify" else {},
            "groupId": "g-1" if kind == "group" else None,
            "previousId": "old-1" if kind == "alias" else None,
            "context": {"ip": "203.0.113.7", "library": {"name": "analytics-python"}},
            "integrations": {},
            "_metadata": {"bundled": []},
        }
        for i, kind in enumerate(SEGMENT_TYPES)
    ]
    return {"batch": calls, "sentAt": "2026-11-28T12:00:01.000+00:00", "writeKey": "wk"}


def test_what_sdks_send_takes_the_fast_way():
    """The speed is for real traffic: the tracker's sample body and an SDK batch pass
    without the pydantic models, and give what the models give."""
    track = orjson.loads(SAMPLE_TRACK.read_text().replace("REPLACE-WITH-SOURCE-ID", SOURCE_ID))
    assert tracker_from(track) is not SLOW
    assert segment_batch_from(_sdk_batch()) is not SLOW

    raw_track = orjson.dumps(track)
    fast, slow = _both(lambda: _track(raw_track), intake, "tracker_from")
    assert fast[0] == "ok" and fast == slow
    raw_batch = orjson.dumps(_sdk_batch())
    fast, slow = _both(lambda: _segment_batch(raw_batch), segment, "segment_batch_from")
    assert fast[0] == "ok" and fast == slow


def test_what_the_models_would_change_takes_the_slow_way():
    """A padded type, a number as a client id, 1 for true: the models strip or refuse
    them, so the fast way leaves them to the models."""
    base = {"source": {"id": SOURCE_ID}, "events": [{"type": "page-view"}]}
    assert tracker_from(base) is not SLOW
    for event in ({"type": " page-view"}, {"type": "t", "id": 5}):
        assert tracker_from({**base, "events": [event]}) is SLOW
    assert tracker_from({**base, "profile_less": 1}) is SLOW
    assert segment_batch_from({"batch": [{"type": "track", "userId": " u"}]}) is SLOW
