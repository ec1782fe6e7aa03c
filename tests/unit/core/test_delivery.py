"""Retry policy, circuit breaker and classification of delivery results."""

from __future__ import annotations

import pytest

from headwater.core.delivery import (
    BreakerState,
    CircuitBreaker,
    RetryPolicy,
    Verdict,
    classify_exception,
    classify_status,
)
from headwater.errors import DeliveryFailed


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert classify_status(status) is Verdict.DELIVERED


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504, 599])
def test_overload_timeouts_and_server_errors_are_retryable(status: int) -> None:
    assert classify_status(status) is Verdict.RETRYABLE


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 409, 410, 413, 422])
def test_other_answers_are_permanent(status: int) -> None:
    assert classify_status(status) is Verdict.PERMANENT


def test_exceptions_are_classified_by_kind() -> None:
    assert classify_exception(TimeoutError()) is Verdict.RETRYABLE
    assert classify_exception(ConnectionRefusedError()) is Verdict.RETRYABLE
    assert classify_exception(DeliveryFailed("503", retryable=True)) is Verdict.RETRYABLE
    assert classify_exception(DeliveryFailed("400", retryable=False)) is Verdict.PERMANENT
    assert classify_exception(ValueError("bad target")) is Verdict.PERMANENT


def test_delay_doubles_up_to_the_cap_with_jitter_from_the_given_source() -> None:
    policy = RetryPolicy(max_attempts=10, first=1.0, cap=8.0)
    lowest = [policy.delay(n, lambda: 0.0) for n in range(1, 7)]
    highest = [policy.delay(n, lambda: 0.999999) for n in range(1, 7)]
    assert lowest == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert highest == pytest.approx([1.0, 2.0, 4.0, 8.0, 8.0, 8.0], rel=1e-5)
    assert policy.delay(3, lambda: 0.5) == 3.0


def test_only_retryable_failures_are_retried_and_only_up_to_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.may_retry(1, Verdict.RETRYABLE)
    assert policy.may_retry(2, Verdict.RETRYABLE)
    assert not policy.may_retry(3, Verdict.RETRYABLE)
    assert not policy.may_retry(1, Verdict.PERMANENT)
    assert not policy.may_retry(1, Verdict.DELIVERED)


def test_a_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=1, first=2.0, cap=1.0)
    with pytest.raises(ValueError):
        CircuitBreaker(failures=0, cooldown=1.0)


def test_breaker_opens_after_consecutive_failures_only() -> None:
    breaker = CircuitBreaker(failures=3, cooldown=10.0)
    breaker.failed(0.0)
    breaker.failed(1.0)
    breaker.succeeded()  # a success in between starts the count again
    breaker.failed(2.0)
    breaker.failed(3.0)
    assert breaker.state(3.0) is BreakerState.CLOSED
    assert breaker.allow(3.0)
    breaker.failed(4.0)
    assert breaker.state(4.0) is BreakerState.OPEN
    assert not breaker.allow(5.0)
    assert breaker.retry_at(5.0) == 14.0


def test_after_the_cooldown_one_probe_goes_and_its_success_closes() -> None:
    breaker = CircuitBreaker(failures=1, cooldown=10.0)
    breaker.failed(0.0)
    assert breaker.state(9.9) is BreakerState.OPEN
    assert breaker.state(10.0) is BreakerState.HALF_OPEN
    assert breaker.allow(10.0)  # the probe
    assert not breaker.allow(10.5)  # the others wait for it
    assert breaker.retry_at(10.5) == 10.5
    breaker.succeeded()
    assert breaker.state(10.6) is BreakerState.CLOSED
    assert breaker.allow(10.6)


def test_a_failed_probe_opens_for_another_cooldown() -> None:
    breaker = CircuitBreaker(failures=2, cooldown=5.0)
    breaker.failed(0.0)
    breaker.failed(0.0)
    assert breaker.allow(5.0)
    breaker.failed(6.0)
    assert breaker.state(6.0) is BreakerState.OPEN
    assert not breaker.allow(10.9)
    assert breaker.retry_at(7.0) == 11.0
    assert breaker.allow(11.0)


def test_a_released_probe_lets_another_request_probe() -> None:
    breaker = CircuitBreaker(failures=1, cooldown=1.0)
    breaker.failed(0.0)
    assert breaker.allow(1.0)
    assert not breaker.allow(1.0)
    breaker.released()
    assert breaker.allow(1.0)
