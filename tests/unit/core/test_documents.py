"""Search documents made from intake batches, as the storage agent sees them: decoded
from the wire by the real codec."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from headwater.core.documents import event_documents, iso
from headwater.core.intake import build_collect_batch, build_tracker_batch, parse_tracker_payload
from tests.unit.factories import RECEIVED_AT, SOURCE_ID

RECEIVED_ISO = "2026-11-28T14:03:20.000Z"


@pytest.fixture
def make_batch(codec, make_source, make_meta, make_limits):
    """A /track body turned into an intake record and through encode/decode, as on the topic."""

    def make(body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        payload = parse_tracker_payload(json.dumps(body).encode())
        accepted = build_tracker_batch(payload, make_source(), make_meta(), make_limits(), **kwargs)
        return codec.decode("intake_batch", codec.encode("intake_batch", accepted.record))

    return make


@pytest.fixture
def two_events() -> dict[str, Any]:
    return {
        "source": {"id": SOURCE_ID},
        "profile": {"id": "p-1"},
        "session": {"id": "s-1"},
        "context": {"utm": {"source": "newsletter"}, "tz": "Europe/Warsaw"},
        "properties": {"plan": "pro", "currency": "USD"},
        "events": [
            {
                "id": "e-1",
                "type": "page-view",
                "time": {"create": "2026-11-28T14:03:11.400Z"},
                "context": {"utm": {"source": "ad"}, "page": {"path": "/p/a-1001"}},
                "options": {"saveEvents": True},
                "tags": ["web", "landing"],
            },
            {
                "id": "e-2",
                "type": "product-added-to-basket",
                "properties": {"sku": "A-1001", "currency": "EUR"},
            },
        ],
    }


def test_one_document_per_event(make_batch, two_events):
    documents = event_documents(make_batch(two_events))

    assert [d.id for d in documents] == ["e-1", "e-2"]
    assert [d.body["type"] for d in documents] == ["page-view", "product-added-to-basket"]
    assert all(d.tenant == "acme" and d.env == "production" for d in documents)
    received = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=RECEIVED_AT)
    assert all(d.received_at == received for d in documents)


def test_event_context_overrides_request_context_by_key(make_batch, two_events):
    first, second = event_documents(make_batch(two_events))

    assert first.body["context"] == {
        "utm": {"source": "ad"},
        "tz": "Europe/Warsaw",
        "page": {"path": "/p/a-1001"},
    }
    assert second.body["context"] == {"utm": {"source": "newsletter"}, "tz": "Europe/Warsaw"}


def test_request_properties_merge_under_event_properties(make_batch, two_events):
    first, second = event_documents(make_batch(two_events))

    assert first.body["properties"] == {"plan": "pro", "currency": "USD"}
    assert second.body["properties"] == {"plan": "pro", "currency": "EUR", "sku": "A-1001"}


def test_times_are_iso_with_milliseconds_and_z(make_batch, two_events):
    first, second = event_documents(make_batch(two_events))

    assert first.body["time"] == {"create": "2026-11-28T14:03:11.400Z", "insert": RECEIVED_ISO}
    # An event without time.create happened when the request was received.
    assert second.body["time"] == {"create": RECEIVED_ISO, "insert": RECEIVED_ISO}


def test_document_carries_ids_request_and_metadata(make_batch, two_events):
    first, second = event_documents(make_batch(two_events))
    body = first.body

    assert body["id"] == "e-1"
    assert body["tenant"] == "acme"
    assert body["env"] == "production"
    assert body["channel"] == "track"
    assert body["source"] == {"id": SOURCE_ID}
    assert body["profile"] == {"id": "p-1"}
    assert body["session"] == {"id": "s-1"}
    assert body["options"] == {"saveEvents": True}
    assert body["tags"] == ["web", "landing"]
    assert body["request"] == {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)"}
    assert body["metadata"] == {"valid": True, "errors": [], "limits": [], "profile_less": False}
    assert second.body["options"] == {}
    assert second.body["tags"] == []


def test_document_is_plain_json(make_batch, two_events):
    for document in event_documents(make_batch(two_events)):
        assert json.loads(json.dumps(document.body)) == document.body


def test_profile_less_track_has_null_profile(make_batch, two_events):
    [first, _] = event_documents(make_batch(two_events, profile_less=True))

    assert first.body["profile"] is None
    assert first.body["session"] == {"id": "s-1"}
    assert first.body["metadata"]["profile_less"] is True


def test_collect_without_session_has_null_profile_and_session(
    codec, make_source, make_meta, make_limits
):
    accepted = build_collect_batch(
        "order-paid", {"order": "o-1"}, make_source(), None, make_meta(ip=None), make_limits()
    )
    batch = codec.decode("intake_batch", codec.encode("intake_batch", accepted.record))

    [document] = event_documents(batch)

    assert document.body["profile"] is None
    assert document.body["session"] is None
    assert document.body["channel"] == "collect"
    assert document.body["properties"] == {"order": "o-1"}
    assert document.body["context"] == {}
    assert document.body["request"]["ip"] is None
    assert document.body["metadata"] == {
        "valid": True,
        "errors": [],
        "limits": [],
        "profile_less": True,
    }


def test_sample_tracker_body_makes_documents(make_batch, make_track_body):
    body = make_track_body()
    first, second = event_documents(make_batch(body))

    assert first.body["context"]["page"]["path"] == "/p/a-1001"
    assert first.body["context"]["utm"] == body["context"]["utm"]
    assert second.body["properties"]["price"] == 89.9
    assert second.body["time"]["create"] == "2026-11-28T14:03:15.020Z"
    assert first.body["profile"]["id"] == second.body["profile"]["id"]


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 11, 28, 14, 3, 11, 400000, tzinfo=UTC), "2026-11-28T14:03:11.400Z"),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05.000Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 123999, tzinfo=UTC), "2026-01-02T03:04:05.123Z"),
    ],
)
def test_iso(moment, text):
    assert iso(moment) == text
