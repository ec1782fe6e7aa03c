"""The worker's Faust consumer: its commit never passes a record no stage processed.

Faust (faust-streaming 0.11) decides what to commit from two guesses it makes while
delivering records, in ``Consumer._drain_messages`` (and from acks and a commit rule
that go wrong too, below):

- it drops a record whose offset is below the partition's *read offset* (the last one
  it delivered, or where a seek put it), taking it as already delivered;
- when a record's offset is more than one past the read offset it records the offsets
  between as a *gap*, taken as "no record there" (compaction, transaction markers), and
  counts a gap as acknowledged when it commits.

Both guesses go wrong at a partition hand-over. The read offset is reset at revocation,
by each seek (Faust seeks stream partitions to their committed offsets only after it
resumed them, ``Recovery.on_recovery_completed``, and again whenever records arrive
while its flow is stopped), and set by the delivery loop after each record, also after
a revocation or a seek happened while it waited. So records fetched before a seek arrive
after it (a false gap over offsets never delivered), and a read offset left from before
the rebalance makes the first records of the new assignment look already delivered
(dropped, and fetched again only if a seek follows). Either way the next commit passes
records no stage ever saw: events the collector had acknowledged were never stored
(tests/e2e/test_two_workers.py, issue #13).

This consumer goes by facts instead, for the topics whose offsets Faust commits (the
agents' sources; changelogs keep Faust's handling, recovery seeks them itself):

- every record fetched is delivered. A record delivered twice after a seek is harmless
  (every stage folds idempotently: event ids, applied offsets), and Faust's ack
  bookkeeping keeps one entry per offset;
- gaps come only from the fetcher: aiokafka hands out a partition's records in log
  order from its fetch position, so the offsets from that position up to the first
  record returned, between two records returned, and up to the position after them
  hold no record (a compacted one, a transaction marker). Those ranges, read in the
  consumer thread in the same step as the records, are true whenever they are used,
  whatever seeks or rebalances happen around them;
- an offset counts as done only when a stage said it processed its record
  (:meth:`WorkerConsumer.processed`, called by the worker once a batch's outputs are
  acknowledged). Faust also acks records its streams skip: those of an assignment that
  is gone and those that reach a stream while a rebalance has stopped the flow ("ack
  the filtered out message, otherwise the lag would increase", ``Stream.__aiter__``),
  and a batch whose stage was cancelled (streams/batches.py acks in a ``finally``). Such
  an ack frees the record (Faust stops waiting for it) without counting it: the record
  is read again from the committed offset by whoever holds the partition next;
- a commit starts exactly where the last one ended (the group's committed offset as
  read at each seek or written at each commit, kept across a revocation, the log
  start when there is none) and runs over processed or known-empty offsets only.
  Faust's own passes the record at its committed offset when the one after it was
  acknowledged, and commits any first run of acknowledged offsets once a revocation
  cleared its committed offset.

Faust keeps the consumer group, the assignment, table recovery and the commit itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, cast
from weakref import WeakSet

from aiokafka.errors import ConsumerStoppedError
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer
from faust.types import TP, Message
from faust.types.tuples import ack_lock
from mode import Service
from mode.utils.futures import notify

from headwater.streams.delivery import deliver

__all__ = ["Fetched", "WorkerConsumer", "WorkerConsumerThread", "holes", "use_worker_consumer"]

# Offsets [begin, end) known to hold no record, by partition
Holes = dict[TP, list[tuple[int, int]]]


class Fetched(dict[TP, list[Any]]):
    """Records by partition, as Faust expects them, with the offset ranges the same
    fetch showed to hold no record."""

    def __init__(self, records: Mapping[TP, list[Any]], found: Holes) -> None:
        super().__init__(records)
        self.holes = found


def holes(start: int, offsets: Sequence[int], end: int) -> list[tuple[int, int]]:
    """The ranges of ``[start, end)`` not in ``offsets`` (ascending, all in the range):
    what a fetch that moved the position from ``start`` to ``end`` and returned records
    at ``offsets`` showed to be empty."""
    found: list[tuple[int, int]] = []
    expected = start
    for offset in [*offsets, end]:
        if offset > expected:
            found.append((expected, offset))
        expected = offset + 1
    return found


class WorkerConsumerThread(AIOKafkaConsumerThread):
    """Fetches like Faust's thread, and also says which offsets the fetch skipped."""

    async def _fetch_records(
        self,
        consumer: Any,
        active_partitions: set[TP] | None,
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> Mapping[TP, list[Any]]:
        if not self.consumer.flow_active:
            return {}
        fetcher = consumer._fetcher
        if consumer._closed or fetcher._closed:
            raise ConsumerStoppedError()
        subscriptions = fetcher._subscriptions
        deadline = time.monotonic() + (timeout or 0.0)
        with subscriptions.fetch_context():
            while True:
                remaining = deadline - time.monotonic()
                if subscriptions.reassignment_in_progress:
                    # as aiokafka's own fetched_records: no records of an assignment
                    # that is going away
                    await asyncio.wait([subscriptions.wait_for_assignment()], timeout=remaining)
                    if subscriptions.reassignment_in_progress:
                        return {}
                    continue
                # No await from here to the end of the drain: the positions read before
                # it are where the records it returns continue from.
                before = _positions(subscriptions)
                records = await fetcher.fetched_records(
                    active_partitions, timeout=0, max_records=max_records
                )
                found = _skipped(before, _positions(subscriptions), records)
                if records or found:
                    return Fetched(records, found)
                if remaining <= 0:
                    return {}
                waiter = fetcher._create_fetch_waiter()
                done, pending = await asyncio.wait([waiter], timeout=remaining)
                if not done or fetcher._closed:
                    for future in pending:
                        future.cancel()
                    return {}
                waiter.result()  # raises what the fetch raised (authorization errors)


def _positions(subscriptions: Any) -> dict[TP, tuple[Any, int]]:
    """Each assigned partition's fetch position, with the state object that holds it
    (aiokafka makes new ones at each assignment)."""
    assignment = subscriptions.subscription.assignment if subscriptions.subscription else None
    if assignment is None or not assignment.active:
        return {}
    positions: dict[TP, tuple[Any, int]] = {}
    for tp in assignment.tps:
        state = assignment.state_value(tp)
        if state is not None and state.has_valid_position:
            positions[tp] = (state, state.position)
    return positions


def _skipped(
    before: Mapping[TP, tuple[Any, int]],
    after: Mapping[TP, tuple[Any, int]],
    records: Mapping[TP, list[Any]],
) -> Holes:
    """The empty offset ranges a drain showed: per partition whose position it moved
    forward (same state object), what lies between that and its records."""
    found: Holes = {}
    for tp, (state, start) in before.items():
        if tp not in after or after[tp][0] is not state:
            continue
        end = after[tp][1]
        offsets = [record.offset for record in records.get(tp, ())]
        if end <= start or (offsets and not start <= offsets[0] <= offsets[-1] < end):
            continue  # not a fetch that moved forward from ``start``: nothing known
        if ranges := holes(start, offsets, end):
            found[tp] = ranges
    return found


class WorkerConsumer(Consumer):
    """Faust's aiokafka consumer, delivering every fetched record of the topics it
    commits and counting as acknowledged only offsets the fetcher showed to be empty."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._processed: WeakSet[Message] = WeakSet()
        # Per partition, the offset the next commit must start from: the group's
        # committed offset as last read or written (the log start if none). Unlike
        # Faust's committed offsets it is not cleared at a revocation.
        self._base: dict[TP, int] = {}
        self._stuck: dict[TP, int] = {}  # partitions waiting for their base, last look

    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return WorkerConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def processed(self, messages: Iterable[Message]) -> None:
        """A stage processed ``messages`` (and its outputs are acknowledged): their
        acks, which follow, count toward the commit."""
        self._processed.update(messages)

    def ack(self, message: Message) -> bool:
        if message in self._processed or not self.app.topics.acks_enabled_for(message.topic):
            self._processed.discard(message)
            counted = bool(super().ack(message))
            # a record read twice is done too: no revocation waits for it (Faust's own
            # ack leaves it pending when its offset was acknowledged already)
            self._unacked_messages.discard(message)
            return counted
        with ack_lock:  # skipped or unfinished: freed, not done (see the module's doc)
            message.acked = True
            self._unacked_messages.discard(message)
            notify(self._waiting_for_ack)
        return False

    async def perform_seek(self) -> None:
        """Faust's seek to the committed offsets, remembering them as where commits
        start (the log start for a partition without one)."""
        committed = await self.seek_to_committed()
        self._read_offset.update(
            {
                tp: offset if offset is not None and offset >= 0 else None
                for tp, offset in committed.items()
            }
        )
        self._committed_offset.update(
            {tp: offset or None for tp, offset in committed.items() if offset is not None}
        )
        known = {
            tp: offset for tp, offset in committed.items() if offset is not None and offset >= 0
        }
        unknown = [
            tp for tp in committed if tp not in known and self.app.topics.acks_enabled_for(tp.topic)
        ]
        if unknown:  # no commit yet: read from the log start (auto_offset_reset)
            try:
                known.update(await self.earliest_offsets(*unknown))
            except Exception as exc:  # no commit for them until the next seek
                self.log.warning("log start offsets not read: %r", exc)
        self._base.update(known)

    async def _commit(self, offsets: Mapping[TP, int]) -> bool:
        done = bool(await super()._commit(offsets))
        if done:
            self._base.update(offsets)
        return done

    def _new_offset(self, tp: TP) -> int | None:
        """The offset to commit: the end of the run of offsets, from where the last
        commit ended, that were processed or are known to hold no record. (Faust's own
        also passes the record at the committed offset when the one after it was
        acknowledged, and any unprocessed start when it lost the committed offset at a
        revocation.)"""
        if not self.app.topics.acks_enabled_for(tp.topic):
            return super()._new_offset(tp)
        base = self._base.get(tp)
        if base is None:
            return None
        index, gaps = self._acked_index[tp], self._gap[tp]
        end = base
        while True:
            if end in index:
                end += 1
            elif covering := gaps.at(end):
                end = max(interval.end for interval in covering)
            else:
                break
        if end == base:
            return None
        acked = self._acked[tp]
        acked[:] = [offset for offset in acked if offset >= end]
        index.difference_update([offset for offset in index if offset < end])
        gaps.chop(0, end)
        return end

    async def _getmany(
        self, active_partitions: set[TP] | None, timeout: float
    ) -> Mapping[TP, list[Any]]:
        records = await super()._getmany(active_partitions, timeout)
        if isinstance(records, Fetched):
            self.note_holes(records.holes)
        return records

    def note_holes(self, found: Holes) -> None:
        """Count offsets known to hold no record as acknowledged (Faust's gaps); below
        the committed offset they are history."""
        for tp, ranges in found.items():
            if not self.app.topics.acks_enabled_for(tp.topic):
                continue
            base = self._base.get(tp)
            tree = self._gap[tp]
            for begin, end in ranges:
                begin = begin if base is None else max(begin, base)
                if begin < end:
                    tree.addi(begin, end)
            tree.merge_overlaps()

    @Service.task
    async def _watch_log_starts(self) -> None:
        async for _ in self.itertimer(self.commit_interval, name="log-starts"):
            try:
                await self.note_deleted()
            except Exception as exc:  # the broker away, a rebalance: ask again next time
                self.log.warning("log start offsets not read: %r", exc)

    async def note_deleted(self) -> None:
        """For partitions whose acknowledged offsets do not reach back to where their
        next commit starts: offsets below the log start are gone (retention deleted
        them while the group lagged; the fetcher then reset to the earliest offset) and
        count as done; a record still in the log is read again (:meth:`_read_again`).
        Either way the partition's commit would otherwise wait for ever."""
        waiting: dict[TP, int] = {}
        for tp in list(self._acked):
            if (committed := self._waiting_from(tp)) is not None:
                waiting[tp] = committed
        if not waiting:
            return
        starts = await self.earliest_offsets(*waiting)
        gone = {
            tp: [(committed, start)]
            for tp, committed in waiting.items()
            if (start := starts.get(tp)) is not None and start > committed
        }
        self.note_holes(gone)
        await self._read_again({tp: base for tp, base in waiting.items() if tp not in gone})

    async def _read_again(self, waiting: dict[TP, int]) -> None:
        """A record still in the log that later records of its partition were processed
        past, two looks in a row: it was skipped on its way to the stage (around a
        hand-over) and will not come again by itself. Seek back to it; what follows is
        read twice, harmlessly."""
        if self.app.rebalancing:  # the seek that ends a hand-over comes first
            self._stuck = {}
            return
        stuck = {
            tp: base
            for tp, base in waiting.items()
            if self._stuck.get(tp) == base and tp in self.assignment()
        }
        self._stuck = waiting
        if stuck:
            self.log.warning("records skipped, not processed; reading again from %s", stuck)
            await self.seek_wait(stuck)

    def _waiting_from(self, tp: TP) -> int | None:
        """Where the next commit of ``tp`` starts, if that offset is neither
        acknowledged nor known empty while later offsets are acknowledged."""
        committed = self._base.get(tp)
        later = (
            [offset for offset in self._acked.get(tp, ()) if offset >= committed]
            if committed is not None
            else []
        )
        if committed is None or not later:
            return None
        tree = self._gap.get(tp)
        return None if committed in later or (tree and tree.at(committed)) else committed

    async def _drain_messages(self, fetcher: Any) -> None:
        """Faust's delivery loop, without its read-offset guesses for the topics it
        commits: each of their records goes to the streams (see the module's doc).
        Changelog records keep Faust's rule (none below the read offset). A record's
        callback waits under ``wait_first`` only when it has to wait
        (streams/delivery.py)."""
        callback = self.callback
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        commit_every = self._commit_every
        since_yield = 0
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                self.diag.set_flag(CONSUMER_FETCHING)
                records = cast(AsyncIterator[tuple[TP, Any]], self.getmany(timeout=1.0))
                await self.sleep(0)  # getmany may return at once, again and again
                if not self.should_stop:
                    async for tp, message in records:
                        since_yield += 1
                        if since_yield > 100:
                            await asyncio.sleep(0)
                            since_yield = 0
                        offset = message.offset
                        if not acks_enabled_for(message.topic):
                            last = read_offset[tp]
                            if last is not None and offset < last:
                                continue  # a changelog record already applied
                        if commit_every is not None and self._n_acked >= commit_every:
                            self._n_acked = 0
                            await self.commit()
                        await deliver(self, callback(message), self.suspend_flow)
                        read_offset[tp] = offset
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)


def use_worker_consumer(app: Any) -> None:
    """Make ``app`` (its consumer not made yet) consume with :class:`WorkerConsumer`."""
    app.transport.Consumer = WorkerConsumer
