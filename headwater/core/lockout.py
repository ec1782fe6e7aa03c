"""Lockout after repeated failed logins: pure bookkeeping, the clock is passed in."""

from __future__ import annotations

from collections import deque

__all__ = ["LoginGuard"]


class LoginGuard:
    """Counts failed logins per account name inside a sliding window.

    After ``max_failures`` failures within ``window`` seconds the account is locked
    until the oldest of those failures leaves the window. A success clears the count.
    """

    def __init__(self, max_failures: int, window: float) -> None:
        self._max = max_failures
        self._window = window
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, account: str, now: float) -> deque[float]:
        failures = self._failures.get(account)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        if not failures:
            del self._failures[account]
        return failures

    def locked_for(self, account: str, now: float) -> float:
        """Seconds until ``account`` may try again; 0 when it may try now."""
        failures = self._recent(account, now)
        if len(failures) < self._max:
            return 0.0
        return failures[-self._max] + self._window - now

    def failed(self, account: str, now: float) -> None:
        self._recent(account, now)
        self._failures.setdefault(account, deque()).append(now)

    def succeeded(self, account: str) -> None:
        self._failures.pop(account, None)
