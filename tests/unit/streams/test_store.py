"""The worker's state store: key placement and state directory slots."""

from __future__ import annotations

from pathlib import Path

from aiokafka.partitioner import DefaultPartitioner

from headwater.streams.store import claim_state_dir, key_partition, release_state_dirs


def test_keys_are_placed_where_the_kafka_default_partitioner_puts_them():
    partitions = list(range(6))
    for n in range(500):
        key = f"default:profile-{n}".encode()
        assert key_partition(key, 6) == DefaultPartitioner()(key, partitions, partitions)


def test_each_claim_gets_its_own_directory(tmp_path: Path):
    try:
        first = claim_state_dir(tmp_path)
        second = claim_state_dir(tmp_path)
    finally:
        release_state_dirs()

    assert first != second
    assert {first.name, second.name} == {"slot-0", "slot-1"}
