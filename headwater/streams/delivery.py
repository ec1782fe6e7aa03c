"""Handing one fetched record to Faust's streams without a task per record.

Faust's delivery loop hands each record to its streams with ``Service.wait_first``
(the record's callback against the flow being suspended), which makes four tasks and
an ``asyncio.wait`` per record: about as much CPU as the profile stage's whole fold of a
one-event message (bench/pipeline.py, docs/performance.md). Almost always the callback
finishes without waiting (there is room in the stream's queue), so :func:`deliver` runs
it directly, and only a callback that does wait goes on under ``wait_first`` as before:
abandoned if the flow is suspended, the service stopped or crashed meanwhile.

Without a task per record the stream no longer takes each record out of its queue
before the next is handed over: a whole fetch can wait there. That is safe only because
a stage's queue is left out of Faust's flow control, which empties it when the flow
resumes, also right after recovery's seek (streams/batches.py); records the stream must
not process it still skips.
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any

__all__ = ["deliver"]


async def deliver(service: Any, delivery: Awaitable[Any], abandon: Any) -> None:
    """Run ``delivery`` to its end; if it has to wait, wait as ``service.wait_first``
    does, against ``abandon`` (an event: the flow suspended)."""
    if not isinstance(delivery, Coroutine):  # not a coroutine (Faust's are): as before
        await service.wait_first(delivery, abandon.wait())
        return
    try:
        waiting_on = delivery.send(None)
    except StopIteration:
        return  # done without waiting: the usual case
    await service.wait_first(_resumed(delivery, waiting_on), abandon)


async def _resumed(delivery: Coroutine[Any, Any, Any], waiting_on: Any) -> Any:
    return await _going_on(delivery, waiting_on)


@types.coroutine
def _going_on(delivery: Coroutine[Any, Any, Any], waiting_on: Any) -> Generator[Any, Any, Any]:
    """``delivery``, stopped at ``waiting_on`` (what it yielded to its task), driven on
    by whichever task awaits this, as ``await`` would: results and exceptions (a
    cancellation) are passed in, its end is this one's."""
    while True:
        try:
            sent = yield waiting_on
        except GeneratorExit:
            delivery.close()
            raise
        except BaseException as exc:  # passed on, as await does
            try:
                waiting_on = delivery.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                waiting_on = delivery.send(sent)
            except StopIteration as stop:
                return stop.value
