"""Constants and small checks shared by the unit tests (fixtures live in conftest.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

SAMPLE_TRACK = Path(__file__).parent.parent / "data" / "tracker-track.json"
SOURCE_ID = "src-web-1"
RECEIVED_AT = 1_795_874_600_000  # 2026-11-28T14:03:20Z, after the sample's event times

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def is_uuid4(value: str) -> bool:
    """A canonical (lowercase, dashed) RFC 4122 version-4 UUID string."""
    parsed = uuid.UUID(value)
    return str(parsed) == value and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def millis(text: str) -> int:
    """Exact epoch milliseconds of an ISO 8601 time, computed without floating point."""
    return (datetime.fromisoformat(text) - _EPOCH) // timedelta(milliseconds=1)
