"""A stage's keyed state: read from the local store, written through the changelog.

A stage reads state with ``get`` and, after the broker has acknowledged every output
that state reflects, writes all of a batch's changes with one ``write``. In the worker
that is :class:`ChangelogState` on a Faust table: the changelog records go out through
the stage's own producer, all queued at once and acknowledged together, and only then
reach the local store, with the changelog offsets the store resumes recovery from.
Faust's per-key path (a changelog send with its callbacks per write, behind a buffer
that holds the consumer back while it drains) cost the worker a sixth of its CPU and
held it idle for more (bench/pipeline.py).

On a broker that reports a multi-record batch's end offset as its base offset + 1 (the
embedded Tansu), recovery would stop before the last records of the last batch. With
``mark_ends`` every write ends each partition it touched with a single-record batch of
its own, a tombstone for a key no stage uses, so the end offset is always right.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from aiokafka.structs import RecordMetadata
from faust.types import TP

from headwater.streams.partitioning import key_partition
from headwater.streams.store import KeyPartitionedStore

__all__ = ["END_MARK", "ChangelogState", "MemoryState", "SendTo", "StateTable"]

# The key of the tombstones that close a write on a broker with the end-offset quirk.
END_MARK = b"\x00headwater:end"

# Queues a record for a partition; the awaitable gives the broker's acknowledgement.
SendTo = Callable[[str, bytes, bytes | None, int], Awaitable[Awaitable[RecordMetadata]]]


class StateTable(Protocol):
    def get(self, key: bytes) -> bytes | None: ...

    async def write(self, changes: Mapping[bytes, bytes | None]) -> None:
        """Store every change (``None`` deletes the key) once it is durable."""


class MemoryState:
    """State in a dict: for a replay, which rebuilds it, and for tests."""

    def __init__(self, data: dict[bytes, bytes] | None = None) -> None:
        self.data = {} if data is None else data

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def keys(self) -> list[bytes]:
        return list(self.data)

    async def write(self, changes: Mapping[bytes, bytes | None]) -> None:
        for key, value in changes.items():
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value


class ChangelogState:
    """A Faust table's state, written through its changelog by the stage's producer."""

    def __init__(self, table: Any, send: SendTo, *, mark_ends: bool) -> None:
        self._table = table
        self._send = send
        self._mark_ends = mark_ends

    def get(self, key: bytes) -> bytes | None:
        store = self._table.data
        if isinstance(store, KeyPartitionedStore):
            # the bytes as stored: the app's tables use the raw codecs (streams/app.py),
            # so Faust's key encoding and value decoding around it change nothing
            return store._get(key)
        value: bytes | None = store.get(key)
        return value

    def keys(self) -> list[bytes]:
        """Every key of the local store (the partitions this worker holds)."""
        return list(self._table.data.keys())

    async def write(self, changes: Mapping[bytes, bytes | None]) -> None:
        if not changes:
            return
        topic: str = self._table.changelog_topic.get_topic_name()
        partitions = int(self._table.partitions)
        sent = [
            await self._send(topic, key, value, key_partition(key, partitions))
            for key, value in changes.items()
        ]
        ends: dict[int, int] = {}
        for metadata in await asyncio.gather(*sent):
            ends[metadata.partition] = max(metadata.offset, ends.get(metadata.partition, -1))
        if self._mark_ends:
            marks = [await self._send(topic, END_MARK, None, p) for p in sorted(ends)]
            for metadata in await asyncio.gather(*marks):
                ends[metadata.partition] = metadata.offset
        store = self._table.data
        for key, value in changes.items():
            if value is None:
                store.pop(key, None)
            else:
                store[key] = value
        for partition, offset in ends.items():
            store.set_persisted_offset(TP(topic, partition), offset)
