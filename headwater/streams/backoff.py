"""Exponential back-off for waiting out an unavailable dependency."""

from __future__ import annotations

import asyncio

__all__ = ["RECONNECT_CAP", "Backoff"]

# the longest wait between two attempts of a producer or the config log to reach the broker
RECONNECT_CAP = 5.0


class Backoff:
    """Exponential back-off: 0.2 s doubling up to ``cap``; ``reset`` after a success."""

    def __init__(self, cap: float, first: float = 0.2) -> None:
        self._cap = cap
        self._first = first
        self._next = first

    @property
    def next_delay(self) -> float:
        """The seconds the next ``wait`` sleeps (for a log line before it)."""
        return self._next

    def reset(self) -> None:
        self._next = self._first

    async def wait(self) -> None:
        delay = self._next
        self._next = min(self._next * 2, self._cap)
        await asyncio.sleep(delay)
