"""What bridges tell their metrics: channel messages acked, dead-lettered or left to be
redelivered, and the events they accepted or refused (observability/metrics.py)."""

from __future__ import annotations

from headwater.errors import InputError
from headwater.observability.metrics import (
    BRIDGE_MESSAGES,
    EVENTS_ACCEPTED,
    EVENTS_REJECTED,
    rejection_reason,
)

__all__ = ["observed_delivery", "observed_redelivery", "observed_refusal"]

SERVICE = "bridge"


def observed_delivery(kind: str, messages: int = 1) -> None:
    """Messages whose intake records Kafka acknowledged (then acked to the channel)."""
    BRIDGE_MESSAGES.labels(kind, "acked").inc(messages)
    EVENTS_ACCEPTED.labels(SERVICE, kind).inc(messages)


def observed_refusal(kind: str, error: BaseException) -> None:
    """One message dead-lettered: its mapping refused it, or Kafka never will take it."""
    BRIDGE_MESSAGES.labels(kind, "dead_lettered").inc()
    reason = "mapping" if isinstance(error, InputError) else rejection_reason(error)
    EVENTS_REJECTED.labels(SERVICE, kind, reason).inc()


def observed_redelivery(kind: str, messages: int) -> None:
    """Messages taken but not acknowledged when a connection closed: they come again."""
    if messages:
        BRIDGE_MESSAGES.labels(kind, "redelivered").inc(messages)
