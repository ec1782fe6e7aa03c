"""A replay's rebuild of the profile table: where the cut is and what a switch changes.

A replay that re-folds profiles writes a marker into every partition of both topics the
profile stage reads (intake and profile operations). Its rebuilt state of a partition is
everything before both markers of that partition (:class:`RebuildCut`). The live stage
switches at the first of the two markers it meets: it has applied nothing after either,
and what it has not applied yet before the other marker is in the rebuilt states, whose
applied offsets (core/offsets.py) then make it a redelivery. What a switch does to the
partition's table entries is :func:`switch_changes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from headwater.core.records import ProfileRebuild

__all__ = [
    "REBUILD_KEY",
    "Answer",
    "RebuildCut",
    "RebuildKind",
    "RebuildRecord",
    "in_scope",
    "switch_changes",
]

# The key of the markers on intake and operations: never a profile's (those start with
# the tenant), so every reader tells a marker from a batch without decoding it.
REBUILD_KEY = b"\x00headwater:rebuild"

RebuildKind = Literal["marker", "state", "end", "switched", "failed"]
Answer = Literal["switched", "failed"]


RebuildRecord = ProfileRebuild  # core/records.py


def in_scope(key: bytes, tenant: str | None, env: str | None) -> bool:
    """Whether a profile table key (``tenant:env:profile``, core/tenancy.py) belongs to
    the rebuilt tenant and environment (None: every one). Keys that are not a
    profile's (end marks, switch flags) never do."""
    parts = key.split(b":", 2)
    if len(parts) != 3 or key.startswith(b"\x00"):
        return False
    return tenant in (None, parts[0].decode()) and env in (None, parts[1].decode())


def switch_changes(
    existing: Iterable[bytes],
    rebuilt: Mapping[bytes, bytes],
    tenant: str | None,
    env: str | None,
) -> dict[bytes, bytes | None]:
    """The table writes that replace one partition's entries of the rebuilt tenant and
    environment: every rebuilt state put, every other key of that scope deleted.
    ``existing``: the partition's keys now; other tenants' keys are left alone."""
    changes: dict[bytes, bytes | None] = {
        key: None for key in existing if in_scope(key, tenant, env) and key not in rebuilt
    }
    changes.update({key: state for key, state in rebuilt.items() if in_scope(key, tenant, env)})
    return changes


@dataclass
class RebuildCut:
    """Where a replay stands against its own markers, per partition number.

    From its marker on, a topic partition's records are held back (``past``): the
    partition's state must be everything before both markers. Once both are reached,
    the partition is ``complete``: its states go out, and then it is ``published``
    and its held records are folded as usual."""

    topics: tuple[str, str]
    partitions: tuple[int, ...]
    _reached: set[tuple[str, int]] = field(default_factory=set)
    _published: set[int] = field(default_factory=set)

    def reached(self, topic: str, partition: int) -> None:
        self._reached.add((topic, partition))

    def past(self, topic: str, partition: int) -> bool:
        """Whether records of this topic partition are beyond its marker and held."""
        return (topic, partition) in self._reached and partition not in self._published

    def complete(self) -> list[int]:
        """Partitions whose both markers are reached and whose states are not out yet."""
        return [
            p
            for p in self.partitions
            if p not in self._published and all((t, p) in self._reached for t in self.topics)
        ]

    def published(self, partition: int) -> None:
        self._published.add(partition)

    @property
    def done(self) -> bool:
        return self._published.issuperset(self.partitions)
