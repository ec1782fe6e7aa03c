"""Destinations stage: outbound requests from ``hw.outbound`` performed for real.

Each batch is performed concurrently and ``handle`` returns only when every request
has been delivered or dead-lettered, so Faust acks nothing still pending. A request:

- waits until its ``not_before_ms`` (held back, never dropped);
- is tried with a per-attempt timeout (at most ``outbound_concurrency`` attempts run at
  once; waiting requests take no slot), and retried with jittered exponential back-off
  while it fails in a way that may pass (connection refused, timeout, 408/425/429/5xx);
- is refused (dead-lettered at once) when it publishes outside the tenant's topic
  prefixes or to a platform topic, or when its address is not one the operator allows
  (``headwater/core/outbound_policy.py``; the address is checked at each attempt);
- has its ``{{secret.NAME}}`` placeholders filled right before it is tried (``fill``:
  :class:`headwater.adapters.secrets.StoredSecrets`), never earlier, and is dead-lettered
  at once when one is not set in its environment; the values never reach a dead letter
  or a log line (they are cut out of error texts);
- goes through its destination's circuit breaker (host for HTTP, server for the
  others): while the breaker is open the request waits instead of failing;
- is dead-lettered (stage ``destinations``, payload = the request, reason = the last
  error) at once on a permanent failure, or when it ran out of attempts or time budget.

Delivery is at-least-once: a crash after a call and before the ack repeats it, which
is what the idempotency key (``Idempotency-Key`` on HTTP) is for.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import orjson

from headwater.adapters.outbound.addresses import topic_policy
from headwater.agents.observed import OutboundObserved
from headwater.core import records
from headwater.core.delivery import (
    BreakerState,
    CircuitBreaker,
    RetryPolicy,
    Verdict,
    classify_exception,
)
from headwater.core.flows.state import OutboundRequest
from headwater.core.ports.outbound import Transport
from headwater.core.secrets import secret_names
from headwater.errors import DeliveryFailed, HeadwaterError
from headwater.observability.logs import EVENT_ID
from headwater.schemas import OUTBOUND_REQUEST
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage

__all__ = ["DestinationsResult", "DestinationsStage", "decode_request"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DestinationsResult:
    messages: int
    delivered: int
    dead_lettered: int
    attempts: int


@dataclass(frozen=True, slots=True)
class _Outcome:
    delivered: bool
    attempts: int


SecretFiller = Callable[[str, str, OutboundRequest], tuple[OutboundRequest, Mapping[str, str]]]


def no_secrets(
    tenant: str, env: str, request: OutboundRequest
) -> tuple[OutboundRequest, Mapping[str, str]]:
    """For a stage without stored secrets: a request naming one is refused."""
    if names := secret_names([request.target, request.body]):
        raise DeliveryFailed(
            f"secret {min(names)} cannot be used here (no secrets store)", retryable=False
        )
    return request, {}


def decode_request(codec: AvroCodec, value: bytes) -> tuple[str, str, OutboundRequest]:
    """The tenant and environment whose flow asked, and the request."""
    record = cast(records.OutboundRequest, codec.decode(OUTBOUND_REQUEST, value))
    target = orjson.loads(record["target"])
    if not isinstance(target, dict):
        raise DeliveryFailed("target is not a JSON object", retryable=False)
    return (
        record["tenant"],
        record["env"],
        OutboundRequest(
            kind=record["kind"],
            target=target,
            body=orjson.loads(record["body"]),
            idempotency_key=record["idempotency_key"],
            flow_id=record["flow_id"],
            node_id=record["node_id"],
            event_id=record["event_id"],
            not_before_ms=record["not_before_ms"],
        ),
    )


class DestinationsStage:
    def __init__(
        self,
        settings: Settings,
        codec: AvroCodec,
        transports: dict[str, Transport],
        dead_letters: DeadLetters,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        rand: Callable[[], float] = random.random,
        fill: SecretFiller = no_secrets,
    ) -> None:
        self._fill = fill
        self._settings = settings
        self._codec = codec
        self._transports = transports
        self._dead = dead_letters
        self._clock = clock
        self._wall_ms = wall_ms
        self._rand = rand
        self._policy = RetryPolicy(
            settings.outbound_max_attempts,
            first=settings.outbound_backoff,
            cap=max(settings.outbound_max_backoff, settings.outbound_backoff),
        )
        self._breakers: dict[str, CircuitBreaker] = {}
        self._last_error: dict[str, str] = {}  # per destination, for requests never tried
        self._slots = asyncio.Semaphore(settings.outbound_concurrency)
        self._topics = topic_policy(settings)
        self._observed = OutboundObserved(transports)

    def breaker(self, destination: str) -> CircuitBreaker:
        found = self._breakers.get(destination)
        if found is None:
            found = self._breakers[destination] = CircuitBreaker(
                self._settings.outbound_breaker_failures,
                self._settings.outbound_breaker_cooldown,
            )
        return found

    async def handle(self, messages: Sequence[SourceMessage]) -> DestinationsResult:
        outcomes = await asyncio.gather(*(self._one(m) for m in messages))
        delivered = sum(o.delivered for o in outcomes)
        return DestinationsResult(
            len(messages),
            delivered,
            len(messages) - delivered,
            sum(o.attempts for o in outcomes),
        )

    async def _one(self, message: SourceMessage) -> _Outcome:
        token = EVENT_ID.set(None)  # each request's log lines name its event
        try:
            return await self._perform(message)
        finally:
            EVENT_ID.reset(token)

    async def _perform(self, message: SourceMessage) -> _Outcome:
        try:
            tenant, env, request = decode_request(self._codec, message.value)
            EVENT_ID.set(request.event_id)
            transport = self._transports.get(request.kind)
            if transport is None:
                raise DeliveryFailed(f"unknown outbound kind {request.kind!r}", retryable=False)
            refusal = self._topics.target_refusal(request.kind, request.target, tenant)
            if refusal is not None:
                raise DeliveryFailed(refusal, retryable=False)
            destination = transport.destination(request)  # placeholders still in
            request, values = self._fill(tenant, env, request)
        except (HeadwaterError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            await self._dead.record(message, f"outbound request refused: {exc}", kind="refused")
            return _Outcome(False, 0)
        await self._hold_until(request.not_before_ms)
        attempts, error = await self._attempts(request, transport, destination, values.values())
        if error is None:
            return _Outcome(True, attempts)
        await self._dead.record(message, error, attempts=attempts, kind="delivery_failed")
        return _Outcome(False, attempts)

    async def _hold_until(self, not_before_ms: int | None) -> None:
        if not_before_ms is not None and (wait := not_before_ms - self._wall_ms()) > 0:
            await asyncio.sleep(wait / 1000)

    async def _attempts(
        self,
        request: OutboundRequest,
        transport: Transport,
        destination: str,
        hidden: Collection[str] = (),
    ) -> tuple[int, str | None]:
        """Attempts made, and the last error (None once delivered)."""
        breaker = self.breaker(destination)
        deadline = self._clock() + self._settings.outbound_budget
        attempts = 0
        error = self._last_error.get(destination, "no attempt made")
        while True:
            now = self._clock()
            if not breaker.allow(now):
                wait = breaker.retry_at(now) - now
                if now + wait >= deadline:
                    return attempts, f"{error} (circuit open for {destination}; budget spent)"
                # back-pressure: wait for the cool-down (plus a little jitter)
                await asyncio.sleep(max(wait, 0.01) * (1 + 0.1 * self._rand()))
                continue
            attempts += 1
            probe = breaker.state(now) is not BreakerState.CLOSED
            try:
                async with self._slots:  # only attempts take a slot, never the waits
                    verdict, error = await self._attempt(request, transport, hidden)
            except asyncio.CancelledError:
                if probe:
                    breaker.released()  # let another request probe
                raise
            if verdict is Verdict.DELIVERED:
                breaker.succeeded()
                self._observed.attempt(request.kind, "ok")
                self._observed.breakers(request.kind, destination, self._breakers, self._clock())
                return attempts, None
            if verdict is Verdict.PERMANENT:
                # says nothing of the destination's health (it may be our own bad target)
                if probe:
                    breaker.released()
                self._observed.attempt(request.kind, "failed")
                return attempts, error
            breaker.failed(self._clock())
            self._observed.breakers(request.kind, destination, self._breakers, self._clock())
            self._last_error[destination] = error
            if not self._policy.may_retry(attempts, verdict):
                self._observed.attempt(request.kind, "failed")
                return attempts, f"{error} (after {attempts} attempts)"
            delay = self._policy.delay(attempts, self._rand)
            if self._clock() + delay >= deadline:
                self._observed.attempt(request.kind, "failed")
                return attempts, f"{error} (after {attempts} attempts; budget spent)"
            self._observed.attempt(request.kind, "retry")
            log.info(
                "%s to %s failed (%s); retrying in %.2fs", request.kind, destination, error, delay
            )
            await asyncio.sleep(delay)

    async def _attempt(
        self, request: OutboundRequest, transport: Transport, hidden: Collection[str]
    ) -> tuple[Verdict, str]:
        try:
            async with asyncio.timeout(self._settings.outbound_timeout):
                await transport.send(request)
        except asyncio.CancelledError:
            raise
        except TimeoutError as exc:
            return classify_exception(exc), f"timed out after {self._settings.outbound_timeout}s"
        except Exception as exc:
            return classify_exception(exc), _without(str(exc) or type(exc).__name__, hidden)
        return Verdict.DELIVERED, ""


def _without(text: str, hidden: Collection[str]) -> str:
    """``text`` with each secret value in it masked (an error may quote a URL path)."""
    for value in hidden:
        if value:
            text = text.replace(value, "********")
    return text
