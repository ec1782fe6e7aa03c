"""The profile table's on-disk store: Faust's RocksDB store (through rocksdict), with
each key filed under the partition the key hashes to.

Faust's own store files a write under the partition of the *current event*. The
profile agent folds a batch that spans partitions and writes each profile once at the
end, when the current event can be any of them; keys would land in another partition's
database and be dropped or recovered wrongly when partitions move. Intake, the table's
changelog (``use_partitioner``) and this store all place a key by the Kafka default
partitioner (murmur2 of the key), so they always agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faust.stores import STORES
from faust.stores.memory import Store as MemoryStore
from faust.stores.rocksdb import Store as RocksDBStore

from headwater.errors import ConfigurationError
from headwater.streams.file_lock import try_lock
from headwater.streams.partitioning import key_partition

__all__ = [
    "MEMORY_SCHEME",
    "STORE_SCHEME",
    "KeyPartitionedMemoryStore",
    "KeyPartitionedStore",
    "claim_state_dir",
    "register",
    "release_state_dirs",
]

STORE_SCHEME = "hwrocks"
MEMORY_SCHEME = "hwmemory"


def _partition_of(store: Any, key: bytes) -> int:
    """The partition of ``key`` among the partitions of the store's table."""
    return key_partition(key, int(store.table.partitions or store.app.conf.topic_partitions))


class KeyPartitionedStore(RocksDBStore):
    def _set(self, key: bytes, value: bytes | None) -> None:
        partition = _partition_of(self, key)
        self._key_index[key] = partition
        self._db_for_partition(partition).put(key, value)

    def _get(self, key: bytes) -> bytes | None:
        partition = _partition_of(self, key)
        db: Any = self._dbs.get(partition)
        return None if db is None else db.get(key)

    def _del(self, key: bytes) -> None:
        db: Any = self._dbs.get(_partition_of(self, key))
        if db is not None:
            db.delete(key)

    def _contains(self, key: bytes) -> bool:
        return self._get(key) is not None


class KeyPartitionedMemoryStore(MemoryStore[bytes, bytes]):
    """Faust's memory store, remembering each key's partition also for live writes (its
    own only learns them in recovery), so a revoked partition's keys are dropped."""

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.data[key] = value
        self._key_partition[key] = _partition_of(self, key)


def register() -> None:
    """Make ``hwrocks://`` and ``hwmemory://`` store URLs Faust understands."""
    STORES[STORE_SCHEME] = f"{__name__}:KeyPartitionedStore"
    STORES[MEMORY_SCHEME] = f"{__name__}:KeyPartitionedMemoryStore"


_held: list[Any] = []  # lock files of claimed state directories, open for the process's life


def claim_state_dir(base: Path) -> Path:
    """A state directory under ``base`` that no other live process on this host uses.

    Workers started side by side share a data directory; RocksDB lets one process open
    a database at a time, and two workers reading each other's half-written state would
    be wrong anyway. Each worker takes the lowest free ``slot-N`` (an exclusive lock on
    a file the OS releases when the process dies), so a restarted worker usually gets
    its old slot back, with its state, and only catches up from the changelog.
    """
    for number in range(1024):
        slot = base / f"slot-{number}"
        slot.mkdir(parents=True, exist_ok=True)
        handle = try_lock(slot / ".lock")
        if handle is None:
            continue
        _held.append(handle)
        return slot
    raise ConfigurationError(f"no free worker state directory under {base}")


def release_state_dirs() -> None:
    """Give up every claimed state directory (the OS does it anyway when we exit)."""
    while _held:
        _held.pop().close()
