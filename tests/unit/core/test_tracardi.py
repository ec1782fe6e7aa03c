"""Tracardi's documents as intake batches (core/tracardi.py)."""

from __future__ import annotations

import pytest

from headwater.core.imports import ImportTarget, import_id_for
from headwater.core.intake import IntakeLimits
from headwater.core.records import json_object
from headwater.core.sources import EventSource
from headwater.core.tracardi import event_batch, profile_batch
from headwater.errors import InputError

SOURCE = EventSource(id="src", tenant="acme", env="production")
TARGET = ImportTarget(
    SOURCE, IntakeLimits(32_768, 512_000), import_id_for(SOURCE, "tracardi", "x"), 0
)


def test_a_profile_is_a_profile_update_that_merges_what_tracardi_merged():
    profile = {
        "id": "p-1",
        "ids": ["p-1", "p-old"],
        "metadata": {"time": {"insert": "2024-01-01T00:00:00", "update": "2024-02-01T00:00:00"}},
        "traits": {"plan": "gold"},
        "data": {
            "pii": {"firstname": "Ada", "lastname": "L"},
            "contact": {"email": {"main": "ada@example.com"}, "phone": "+1"},
            "identifier": {"id": "cust-9"},
        },
    }
    accepted = profile_batch(profile, TARGET)
    event, alias = accepted.record["events"]
    assert accepted.profile_id == "p-1" and event["type"] == "profile-update"
    assert alias["type"] == "alias"
    assert json_object(alias["properties"]) == {"previous_profiles": ["p-old"]}
    assert json_object(event["properties"]) == {
        "email": "ada@example.com",
        "phone": "+1",
        "customer_id": "cust-9",
        "first_name": "Ada",
        "last_name": "L",
        "traits": {"plan": "gold"},
    }
    assert profile_batch(profile, TARGET).event_ids == accepted.event_ids  # stable


def test_an_event_keeps_its_ids_and_takes_its_sessions_context():
    event = {
        "id": "e-1",
        "type": "page-view",
        "metadata": {"time": {"insert": "2024-03-01T10:00:01", "create": "2024-03-01T10:00:00"}},
        "source": {"id": "tr-src"},
        "session": {"id": "s-1"},
        "profile": {"id": "p-1"},
        "properties": {"url": "/"},
        "context": {"page": {"title": "Home"}},
        "os": {"name": "Linux"},
        "tags": {"values": ["a"], "count": 1},
    }
    session = {"id": "s-1", "context": {"browser": {"name": "Firefox"}}, "device": {"type": "pc"}}
    accepted = event_batch(event, TARGET, session)
    record = accepted.record
    applied = record["events"][0]
    assert (record["profile_id"], record["session_id"], applied["id"]) == ("p-1", "s-1", "e-1")
    assert json_object(applied["context"]) == {"page": {"title": "Home"}, "os": {"name": "Linux"}}
    assert json_object(record["context"])["browser"] == {"name": "Firefox"}
    assert json_object(record["context"])["device"] == {"type": "pc"}
    assert json_object(applied["options"]) == {"tracardi": {"source": "tr-src"}}
    assert applied["tags"] == ["a"]


def test_a_profile_less_event_and_an_event_without_type():
    accepted = event_batch({"id": "e-2", "type": "ping"}, TARGET, None)
    assert accepted.record["profile_less"] and accepted.profile_id is None
    with pytest.raises(InputError, match="no type"):
        event_batch({"id": "e-3"}, TARGET, None)
