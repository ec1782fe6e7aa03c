"""Where a keyed record goes: the Kafka default partitioner (murmur2 of the key, as the
Java client and aiokafka compute it), with the hashes of recent keys remembered.

aiokafka's murmur2 is pure Python and ran on every record the collector and the worker
sent (4-5% of their CPU in bench/); the same profile keys recur batch after batch.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import lru_cache

from aiokafka.partitioner import murmur2

__all__ = ["CachedPartitioner", "key_hash", "key_partition"]


@lru_cache(maxsize=1 << 17)
def key_hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


def key_partition(key: bytes, partitions: int) -> int:
    """The partition the Kafka default partitioner picks for ``key``."""
    return key_hash(key) % partitions


class CachedPartitioner:
    """aiokafka's default partitioner with :func:`key_hash`: same partitions, less CPU."""

    def __call__(
        self, key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
    ) -> int:
        if key is None:
            return random.choice(available or all_partitions)
        return all_partitions[key_hash(key) % len(all_partitions)]
