"""The events index template: free-form objects never add mapping fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from headwater.adapters.search.templates import events_template, flat_type
from headwater.core.documents import event_documents


@pytest.fixture
def make_template() -> Callable[..., dict[str, Any]]:
    def make(**overrides: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "prefix": "hw",
            "tenant": "acme",
            "env": "production",
            "engine": "elasticsearch",
            "shards": 2,
            "replicas": 1,
        }
        fields.update(overrides)
        return events_template(**fields)

    return make


@pytest.mark.parametrize(
    ("engine", "expected"), [("elasticsearch", "flattened"), ("opensearch", "flat_object")]
)
def test_flat_type(engine, expected):
    assert flat_type(engine) == expected


@pytest.mark.parametrize(
    ("engine", "expected"), [("elasticsearch", "flattened"), ("opensearch", "flat_object")]
)
def test_free_form_objects_are_flat(make_template, engine, expected):
    mappings = make_template(engine=engine)["template"]["mappings"]

    for name in ("properties", "context", "options"):
        assert mappings["properties"][name] == {"type": expected}


def test_mapping_is_not_dynamic(make_template):
    assert make_template()["template"]["mappings"]["dynamic"] is False


def test_template_names_pattern_but_adds_no_alias(make_template):
    # A replay's next generation matches the pattern too and must stay out of the
    # alias until the replay moves it, so the index creator adds the alias instead.
    template = make_template(tenant="globex", env="staging")

    assert template["index_patterns"] == ["hw-globex-staging-events-*"]
    assert "aliases" not in template["template"]


def test_template_settings(make_template):
    settings = make_template(shards=3, replicas=0)["template"]["settings"]

    assert settings["number_of_shards"] == 3
    assert settings["number_of_replicas"] == 0


def test_template_maps_every_document_field(make_template):
    """Every top-level field of a stored event document has a mapping (dynamic is off)."""
    now = datetime(2026, 11, 28, 14, 3, tzinfo=UTC)
    batch = {
        "tenant": "acme",
        "env": "production",
        "source_id": "src-1",
        "channel": "track",
        "received_at": now,
        "profile_id": "p-1",
        "session_id": "s-1",
        "profile_less": False,
        "ip": None,
        "user_agent": None,
        "context": b"{}",
        "properties": b"{}",
        "events": [
            {
                "id": "e-1",
                "type": "t",
                "time": now,
                "properties": b"{}",
                "context": b"{}",
                "options": b"{}",
                "tags": [],
            }
        ],
    }
    [document] = event_documents(batch)
    mapped = make_template()["template"]["mappings"]["properties"]

    assert set(mapped) == set(document.body)
    assert mapped["time"]["properties"] == {"create": {"type": "date"}, "insert": {"type": "date"}}
    assert mapped["profile"]["properties"]["id"] == {"type": "keyword"}
