"""How the destinations agent decides what to do with a delivery: retry with back-off,
trip a circuit breaker, or give up. Pure: time and randomness are passed in, nothing
here reads a clock, sleeps or performs I/O.

Classification: connection errors, timeouts and the HTTP statuses 408, 425, 429 and
5xx may pass, so they are retried; any other 4xx (and an explicit permanent failure)
will not, so the request is dead-lettered at once. Only retryable failures count
against a destination's breaker; a permanent one leaves it as it was (it may come from
our own bad target rather than from the destination).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from headwater.errors import DeliveryFailed

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "RetryPolicy",
    "Verdict",
    "classify_exception",
    "classify_status",
]

RETRYABLE_STATUSES = frozenset({408, 425, 429})


class Verdict(enum.Enum):
    DELIVERED = "delivered"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"


def classify_status(status: int) -> Verdict:
    """An HTTP status: 2xx delivered; 408/425/429/5xx retryable; anything else permanent."""
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status in RETRYABLE_STATUSES or status >= 500:
        return Verdict.RETRYABLE
    return Verdict.PERMANENT


def classify_exception(exc: BaseException) -> Verdict:
    """A failed attempt: transports raise :class:`DeliveryFailed` saying which it is;
    timeouts and connection errors are retryable; anything else is permanent (retrying
    a request we cannot even build does not help)."""
    if isinstance(exc, DeliveryFailed):
        return Verdict.RETRYABLE if exc.retryable else Verdict.PERMANENT
    if isinstance(exc, TimeoutError | ConnectionError):
        return Verdict.RETRYABLE
    return Verdict.PERMANENT


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most ``max_attempts`` attempts; before attempt n+1 wait a random part of
    ``first * 2**(n-1)`` (capped at ``cap``): "equal jitter", half fixed and half drawn
    from ``random`` (a source of floats in [0, 1)), so retries of many requests spread
    out but never come back at once."""

    max_attempts: int
    first: float = 0.2
    cap: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.first <= 0 or self.cap < self.first:
            raise ValueError("need max_attempts >= 1 and 0 < first <= cap")

    def may_retry(self, attempts: int, verdict: Verdict) -> bool:
        """Whether another attempt follows ``attempts`` made, the last ending in ``verdict``."""
        return verdict is Verdict.RETRYABLE and attempts < self.max_attempts

    def delay(self, attempts: int, random: Callable[[], float]) -> float:
        """Seconds to wait after ``attempts`` (>= 1) failed attempts."""
        ceiling = min(self.cap, self.first * 2.0 ** max(attempts - 1, 0))
        return ceiling / 2 + ceiling / 2 * random()


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """One destination's breaker. ``failures`` consecutive retryable failures open it;
    after ``cooldown`` seconds it lets one probe through (half-open): the probe's
    success closes it, its failure opens it for another cool-down. ``now`` is any
    monotonic time in seconds, passed in by the caller."""

    def __init__(self, failures: int, cooldown: float) -> None:
        if failures < 1 or cooldown < 0:
            raise ValueError("need failures >= 1 and cooldown >= 0")
        self._threshold = failures
        self._cooldown = cooldown
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    def state(self, now: float) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._probing or now >= self._opened_at + self._cooldown:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self, now: float) -> bool:
        """Whether an attempt may start now; in half-open, only the first caller may."""
        state = self.state(now)
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def retry_at(self, now: float) -> float:
        """When a caller refused by :meth:`allow` should ask again (never before now)."""
        if self._opened_at is None or self._probing:
            return now
        return max(now, self._opened_at + self._cooldown)

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def failed(self, now: float) -> None:
        if self._probing or self._opened_at is not None:
            self._opened_at = now  # the probe failed: another cool-down
            self._probing = False
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self._opened_at = now

    def released(self) -> None:
        """A probe ended without telling anything (cancelled): let another one try."""
        self._probing = False
