"""What the collector tells its metrics: events accepted per channel, requests refused
per channel and reason (headwater/observability/metrics.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from headwater.observability.metrics import (
    EVENTS_ACCEPTED,
    EVENTS_REJECTED,
    rejection_reason,
)

__all__ = ["accepted", "channel_of", "refused"]

SERVICE = "collector"


def channel_of(route: str) -> str | None:
    """The channel of a collection route template; None for health and unknown paths."""
    if route == "/track":
        return "track"
    if route.startswith("/collect/"):
        return "collect"
    if route in ("/v1/batch", "/v1/b"):
        return "batch"
    if route.startswith("/v1/"):
        return "segment"
    if route.startswith("/redirect/"):
        return "redirect"
    return None


_ACCEPTED: dict[str, Any] = {}  # channel -> its counter: a handful, looked up once


def accepted(channel: str, events: int) -> None:
    counter = _ACCEPTED.get(channel)
    if counter is None:
        counter = _ACCEPTED[channel] = EVENTS_ACCEPTED.labels(SERVICE, channel)
    counter.inc(events)


def refused(request: Request, error: BaseException) -> None:
    """Count a refused collection request (one per request, whatever it held)."""
    route = getattr(request.scope.get("route"), "path", None)
    channel = channel_of(route) if route else None
    if channel is not None:
        EVENTS_REJECTED.labels(SERVICE, channel, rejection_reason(error)).inc()
