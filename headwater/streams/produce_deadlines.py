"""The produce deadline of the records :class:`~headwater.streams.kafka.AckedProducer`
awaits, and what becomes of records nobody awaits any more."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import Any

from aiokafka import errors as kafka_errors

__all__ = ["Expired", "ProduceDeadlines", "abandon"]


class Expired(kafka_errors.KafkaTimeoutError):  # type: ignore[misc]
    """The produce deadline passed before the broker acknowledged the record."""


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def abandon(futures: Iterable[asyncio.Future[Any]]) -> None:
    """Mark the errors of records nobody awaits any more as seen (asyncio logs unseen
    ones), now or when they come."""
    for future in futures:
        if future.done():
            _retrieve(future)
        else:
            future.add_done_callback(_retrieve)


class ProduceDeadlines:
    """The produce deadline of every record awaited by :meth:`AckedProducer.send` and
    ``send_many``, kept with one timer for all of them instead of a timer (and a
    cancellation scope) per record: a few microseconds of every collector request.

    Records are watched in the order they were queued, so their deadlines nearly only
    grow (a deadline is taken before aiokafka takes the record, which can wait for
    metadata or room): every ``TICK`` the sweep drops acknowledged records from the
    front and fails those whose deadline passed (``Expired``; aiokafka skips a future
    that is already done when the broker answers later), stopping at the first one still
    in time. A record fails within ``TICK`` after its deadline, or after the deadline of
    a record queued before it where that one is later.
    """

    TICK = 0.25

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._pending: deque[tuple[float, asyncio.Future[Any]]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> float:
        """The deadline of records a caller begins to send now."""
        loop = self._loop
        if loop is None or loop.is_closed():
            loop = self._loop = asyncio.get_running_loop()
            self._timer = None
        return loop.time() + self._seconds

    def watch(self, future: asyncio.Future[Any], deadline: float) -> None:
        self._pending.append((deadline, future))
        if self._timer is None and self._loop is not None:
            self._timer = self._loop.call_later(self.TICK, self._sweep)

    def _sweep(self) -> None:
        assert self._loop is not None
        now = self._loop.time()
        pending = self._pending
        while pending:
            deadline, future = pending[0]
            if not future.done():
                if deadline > now:
                    break
                future.set_exception(Expired())
                future.exception()  # seen: the awaiting caller still gets it
            pending.popleft()
        self._timer = self._loop.call_later(self.TICK, self._sweep) if pending else None
