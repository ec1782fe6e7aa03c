"""Intake batches and profiles for the fold's unit tests: times relative to BASE, events
as a tracker sends them, and folding batches at consecutive offsets of one partition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from headwater.core.profiles import FoldRules, Profile, apply_batch
from headwater.core.times import epoch_ms

__all__ = [
    "BASE",
    "ORIGIN",
    "RULES",
    "Batch",
    "at",
    "event",
    "fold",
    "identify",
    "ms",
    "new_profile",
]

BASE = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ORIGIN = "headwater.intake/3"
RULES = FoldRules()

Batch = dict[str, Any]


def at(minutes: float) -> str:
    """ISO time ``minutes`` after BASE, as a tracker sends it."""
    return (BASE + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def ms(minutes: float) -> int:
    return epoch_ms(BASE + timedelta(minutes=minutes))


def event(
    event_type: str = "page-view",
    minutes: float = 0,
    *,
    event_id: str | None = None,
    properties: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": event_type,
        "time": {"create": at(minutes)},
        "properties": properties or {},
        "context": context or {},
    }
    if event_id is not None:
        body["id"] = event_id
    return body


def new_profile(profile_id: str = "p-1") -> Profile:
    return Profile.new("acme", "production", profile_id)


def fold(batches: list[Batch], profile: Profile | None = None) -> Profile:
    """Apply batches in order at offsets 0, 1, 2, ... of one partition."""
    profile = profile or new_profile()
    for offset, batch in enumerate(batches):
        result = apply_batch(profile, batch, ORIGIN, offset, RULES)
        assert result.replayed is False
    return profile


def identify(minutes: float, **properties: Any) -> dict[str, Any]:
    return event("identify", minutes, properties=properties)
