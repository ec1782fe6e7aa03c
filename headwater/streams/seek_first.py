"""A Faust consumer that reads a partition it was given only after seeking it to the
group's committed offset.

Faust (faust-streaming 0.11) ends a rebalance's table recovery by resuming the stream
partitions and *then* seeking them to their committed offsets
(``Recovery._resume_streams`` and ``Recovery.on_recovery_completed``). The seek awaits
an offset fetch from the broker, and the consumer's flow is already running then (it
was resumed to read the changelogs), so in that window the fetcher delivers records
from wherever the partition's fetch position and Faust's ``read offset`` were left
before the rebalance, which are past the records Faust threw away from its queues
when the partitions were revoked. Two things follow, both seen in
``tests/e2e/test_two_workers.py``:

- records applied out of order: later offsets first, then the thrown-away ones once
  the seek brings them back (the profile agent logs them as "arrived after later
  offsets");
- records lost: a record delivered from a batch fetched before the seek, with an offset
  past the committed one + 1, makes Faust record the offsets between as a gap (which it
  counts as acknowledged) and raise its read offset past them, so the same offsets
  fetched again after the seek are dropped as already read, and the next commit skips
  them. Events the collector had acknowledged were never stored (2 of 3 CI runs on
  Apache Kafka, a dozen events each).

This consumer holds a stream partition that is resumed back until the next
``perform_seek`` has moved it to the committed offset (and reset its read offset);
changelog partitions, which recovery reads from offsets it sets itself, resume at once.
Faust calls ``perform_seek`` right after each of those resumes, so nothing waits longer
than the offset fetch it waited for anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from faust.transport.drivers.aiokafka import Consumer
from faust.types import TP

__all__ = ["SeekFirstConsumer", "use_seek_first_consumer"]


class SeekFirstConsumer(Consumer):
    """Stream partitions start delivering only once seeked to the committed offset."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: set[TP] = set()  # resumed, waiting for the seek

    @property
    def held(self) -> frozenset[TP]:
        return frozenset(self._held)

    def resume_partitions(self, tps: Iterable[TP]) -> None:
        tps = set(tps)
        changelogs = {tp for tp in tps if self._is_changelog_tp(tp)}
        self._held |= tps - changelogs
        super().resume_partitions(changelogs)

    def pause_partitions(self, tps: Iterable[TP]) -> None:
        tps = set(tps)
        self._held -= tps
        super().pause_partitions(tps)

    async def perform_seek(self) -> None:
        await super().perform_seek()  # on failure they stay held: Faust then crashes
        held, self._held = self._held, set()
        super().resume_partitions(held & set(self.assignment()))


def use_seek_first_consumer(app: Any) -> None:
    """Make ``app`` (its consumer not made yet) consume with :class:`SeekFirstConsumer`."""
    app.transport.Consumer = SeekFirstConsumer
