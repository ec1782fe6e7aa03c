"""Key placement: the cached partitioner agrees with the Kafka default partitioner."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from headwater.streams.partitioning import CachedPartitioner, key_partition

PARTITIONS = list(range(6))


def test_keys_are_placed_where_the_kafka_default_partitioner_puts_them():
    for n in range(500):
        key = f"default:production:profile-{n}".encode()
        assert key_partition(key, 6) == DefaultPartitioner()(key, PARTITIONS, PARTITIONS)


def test_the_producer_partitioner_agrees_with_the_default_also_for_a_repeated_key():
    cached = CachedPartitioner()
    for n in [*range(300), *range(300)]:  # the second pass is answered from the cache
        key = f"t:staging:{n}".encode()
        assert cached(key, PARTITIONS, PARTITIONS) == DefaultPartitioner()(key, PARTITIONS, [])


def test_a_record_without_a_key_goes_to_an_available_partition():
    cached = CachedPartitioner()
    assert {cached(None, PARTITIONS, [2, 4]) for _ in range(50)} <= {2, 4}
    assert cached(None, PARTITIONS, []) in PARTITIONS
