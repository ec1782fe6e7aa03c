"""Factory fixtures shared by the unit tests: each call builds fresh, real objects."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from headwater.core.intake import IntakeLimits, RequestMeta
from headwater.core.sources import EventSource
from headwater.streams.codec import AvroCodec
from tests.unit.factories import RECEIVED_AT, SAMPLE_TRACK, SOURCE_ID


@pytest.fixture
def make_source() -> Callable[..., EventSource]:
    def make(**overrides: Any) -> EventSource:
        fields: dict[str, Any] = {"id": SOURCE_ID, "tenant": "acme", "env": "production"}
        fields.update(overrides)
        return EventSource(**fields)

    return make


@pytest.fixture
def make_meta() -> Callable[..., RequestMeta]:
    def make(**overrides: Any) -> RequestMeta:
        fields: dict[str, Any] = {
            "received_at": RECEIVED_AT,
            "ip": "203.0.113.7",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        }
        fields.update(overrides)
        return RequestMeta(**fields)

    return make


@pytest.fixture
def make_limits() -> Callable[..., IntakeLimits]:
    def make(max_event_bytes: int = 32 * 1024, max_request_bytes: int = 500 * 1024) -> IntakeLimits:
        return IntakeLimits(max_event_bytes=max_event_bytes, max_request_bytes=max_request_bytes)

    return make


@pytest.fixture
def make_track_body() -> Callable[..., dict[str, Any]]:
    """The browser tracker's sample ``/track`` body as a fresh dict, with top-level overrides."""

    def make(**overrides: Any) -> dict[str, Any]:
        text = SAMPLE_TRACK.read_text().replace("REPLACE-WITH-SOURCE-ID", SOURCE_ID)
        body: dict[str, Any] = json.loads(text)
        body.update(overrides)
        return body

    return make


@pytest.fixture
def codec() -> AvroCodec:
    return AvroCodec.default()
