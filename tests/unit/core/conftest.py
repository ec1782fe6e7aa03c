"""The make_batch fixture: a /track body through intake and the real codec."""

from __future__ import annotations

import json
from typing import Any

import pytest

from headwater.core.intake import build_tracker_batch, parse_tracker_payload
from tests.unit.core.profile_batches import Batch


@pytest.fixture
def make_batch(codec, make_source, make_meta, make_limits, make_track_body):
    """A /track body for one profile through intake, encoded and decoded as on the topic.

    ``session=None`` leaves the session to the collector (``session_assigned``)."""

    def make(
        events: list[dict[str, Any]],
        *,
        session: str | None = "s-1",
        profile: str = "p-1",
        **overrides: Any,
    ) -> Batch:
        body = make_track_body(
            session={"id": session} if session else None,
            profile={"id": profile},
            events=events,
            **overrides,
        )
        payload = parse_tracker_payload(json.dumps(body).encode())
        accepted = build_tracker_batch(payload, make_source(), make_meta(), make_limits())
        return codec.decode("intake_batch", codec.encode("intake_batch", accepted.record))

    return make
