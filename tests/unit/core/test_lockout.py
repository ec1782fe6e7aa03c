"""Lockout after repeated failed logins, on a clock the test controls."""

from __future__ import annotations

from headwater.core.lockout import LoginGuard


def test_locks_after_max_failures_inside_the_window() -> None:
    guard = LoginGuard(max_failures=3, window=60)
    for t in (0.0, 10.0):
        guard.failed("ada", t)
    assert guard.locked_for("ada", 11.0) == 0
    guard.failed("ada", 20.0)
    assert guard.locked_for("ada", 21.0) == 39.0  # until the first failure leaves the window
    assert guard.locked_for("bob", 21.0) == 0


def test_lock_lifts_when_failures_age_out() -> None:
    guard = LoginGuard(max_failures=2, window=60)
    guard.failed("ada", 0.0)
    guard.failed("ada", 30.0)
    assert guard.locked_for("ada", 59.0) > 0
    assert guard.locked_for("ada", 60.0) == 0


def test_success_clears_the_count() -> None:
    guard = LoginGuard(max_failures=2, window=60)
    guard.failed("ada", 0.0)
    guard.succeeded("ada")
    guard.failed("ada", 1.0)
    assert guard.locked_for("ada", 2.0) == 0
