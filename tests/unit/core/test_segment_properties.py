"""Property tests of Segment intake: whatever a client sends, intake either refuses it
with an input error (a 4xx at the edge) or produces records the Avro codec writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.core.intake import IntakeLimits, RequestMeta
from headwater.core.segment import SEGMENT_TYPES, parse_segment_batch
from headwater.core.segment_mapping import build_segment_batches, event_time, profile_id_for
from headwater.core.sources import EventSource
from headwater.core.times import epoch_ms
from headwater.errors import InputError
from headwater.schemas import INTAKE_BATCH
from headwater.streams.codec import AvroCodec

CODEC = AvroCodec.default()
SOURCE = EventSource(id="src", tenant="acme", env="production")
LIMITS = IntakeLimits(max_event_bytes=2048, max_request_bytes=500 * 1024)

json_leaf = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
ids = st.none() | st.text(max_size=12) | st.integers(-5, 10**12) | st.booleans()
times = (
    st.none() | st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat) | st.text(max_size=10)
)
message = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from([*SEGMENT_TYPES, "other"]),
        "userId": ids,
        "anonymousId": ids,
        "messageId": ids,
        "event": st.none() | st.text(max_size=20),
        "groupId": ids,
        "previousId": ids,
        "timestamp": times,
        "sentAt": times,
        "properties": json_value,
        "traits": json_value,
        "context": json_value,
        "integrations": json_value,
        "name": st.none() | st.text(max_size=10),
    },
)
body = st.fixed_dictionaries(
    {"batch": st.lists(message, max_size=6)},
    optional={"context": json_value, "sentAt": times, "integrations": json_value},
)


def sorted_as_sent(accepted: list[Any], batch: Any) -> list[dict[str, Any]]:
    """Events back in the order of the batch (intake groups them by profile)."""
    queues = {item.profile_id: list(item.record["events"]) for item in accepted}
    return [queues[profile_id_for("acme", m)].pop(0) for m in batch.batch]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=body, received_at=st.integers(0, 4_102_444_800_000))
def test_any_body_is_refused_as_input_or_encodes(body: dict[str, Any], received_at: int) -> None:
    meta = RequestMeta(received_at=received_at, user_agent="test")
    try:
        batch = parse_segment_batch(orjson.dumps(body))
        accepted = build_segment_batches(batch, SOURCE, meta, LIMITS)
    except InputError as exc:
        assert 400 <= exc.status < 500
        return
    events = [event for item in accepted for event in item.record["events"]]
    assert len(events) == len(body["batch"])
    for item in accepted:
        assert item.record["profile_id"] == item.profile_id
        CODEC.decode(INTAKE_BATCH, CODEC.encode(INTAKE_BATCH, item.record))  # round trips
    again = build_segment_batches(batch, SOURCE, meta, LIMITS)
    named = [m.messageId is not None for m in batch.batch]
    second = {e["id"] for item in again for e in item.record["events"]}
    # per profile, in order: the same message ids give the same event ids, others new ones
    for event, has_message_id in zip(sorted_as_sent(accepted, batch), named, strict=True):
        assert (event["id"] in second) == has_message_id


@given(
    sent_at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
    skew=st.timedeltas(min_value=timedelta(days=-365), max_value=timedelta(days=365)),
)
def test_skew_correction_recovers_the_true_time(sent_at, delay, skew) -> None:
    """A device whose clock is off by ``skew`` records an event ``delay`` before sending:
    the corrected time is the true time at millisecond precision, whatever the skew."""
    true_sent = sent_at.replace(tzinfo=UTC, microsecond=sent_at.microsecond // 1000 * 1000)
    true_event = true_sent - delay
    received_at = epoch_ms(true_sent)  # the network takes no time in this model
    batch = parse_segment_batch(
        orjson.dumps(
            {
                "batch": [{"type": "track", "event": "E", "userId": "u",
                           "timestamp": (true_event + skew).isoformat()}],
                "sentAt": (true_sent + skew).isoformat(),
            }
        )
    )  # fmt: skip

    assert event_time(batch.batch[0], batch.sentAt, received_at) == epoch_ms(true_event)
