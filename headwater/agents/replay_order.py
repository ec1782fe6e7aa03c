"""The order a replay hands intake and profile operations to the profile stage.

A profile's intake batches and its operations (merges, forgets) travel on two topics,
partitioned alike. The live profile stage reads both and applies each message when it
comes, so what a profile is depends on how the two were interleaved: page views applied
before an ``absorb`` are stored under the absorbed profile, those after it are forwarded
to the survivor (and the forwarded copy is in the intake log). A replay that read the
two topics as fast as each could be fetched applied the ``absorb`` before the absorbed
profile's own events, and lost them.

Every record carries the time it was written. An operation is written after the
intake it answers was applied (the claim that caused a merge comes from the folded
batch; a forwarded copy or an injected event is written after the batch that caused
it), so for each partition number the replay merges the two topics by record time,
intake first on a tie. A record is handed on only when the other topic's partition has
a later record waiting or has been read to its end.

That is the live order except when a batch and an operation were written within the
workers' consumer lag of each other and applied live the other way round. For a merge
the log says how it went: the ``merge-in`` record carries the absorbed profile's state
as it was, with the intake offsets it had applied (:func:`merge_points`). A batch that
reaches a profile merged away in the replay but was applied before the merge live is
applied to it, as live, instead of being forwarded (the forward is not in the log, so
it would be lost).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

import orjson

from headwater.core.offsets import AppliedOffsets, upgrade
from headwater.core.records import ProfileOp
from headwater.streams.deadletter import SourceMessage

__all__ = ["Interleave", "MergePoints", "merge_points"]

# (tenant, env, absorbed profile id) -> "topic/partition" -> intake offsets it had applied
MergePoints = dict[tuple[str, str, str], dict[str, AppliedOffsets]]


def merge_points(operations: Iterable[ProfileOp]) -> MergePoints:
    """What every absorbed profile had applied when it was merged away, from the
    ``merge-in`` records among decoded profile operations (log order; a profile merged
    away a second time, after being forgotten, keeps its first point)."""
    points: MergePoints = {}
    for record in operations:
        if record["op"] != "merge-in" or not record["state"] or record["other"] is None:
            continue
        state = orjson.loads(record["state"])
        key = (record["tenant"], record["env"], record["other"])
        points.setdefault(key, upgrade(state))
    return points


class Interleave:
    def __init__(self, first: str, second: str) -> None:
        self._topics = (first, second)  # on equal record times, ``first`` goes first
        self._waiting: dict[tuple[str, int], deque[tuple[int, SourceMessage]]] = {}

    def add(self, message: SourceMessage, timestamp: int) -> None:
        assert message.partition is not None
        key = (message.topic, message.partition)
        self._waiting.setdefault(key, deque()).append((timestamp, message))

    def __len__(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    def release(self, drained: Callable[[str, int], bool]) -> list[SourceMessage]:
        """The messages that can go now, in order; ``drained(topic, partition)`` says
        that every record of that topic partition written so far has been added."""
        first, second = self._topics
        out: list[SourceMessage] = []
        for partition in sorted({p for _, p in self._waiting}):
            one = self._waiting.get((first, partition), deque())
            two = self._waiting.get((second, partition), deque())
            while one or two:
                if one and two:
                    take = one if one[0][0] <= two[0][0] else two
                elif one:
                    if not drained(second, partition):
                        break
                    take = one
                else:
                    if not drained(first, partition):
                        break
                    take = two
                out.append(take.popleft()[1])
        return out

    def drain(self) -> list[SourceMessage]:
        """Everything still waiting, in order (when the replay stops)."""
        return self.release(lambda topic, partition: True)
