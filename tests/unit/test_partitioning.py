"""Kafka's default partitioner, as Headwater computes it: the same partitions as the Java
client and aiokafka."""

from __future__ import annotations

from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from headwater.streams.partitioning import key_partition, murmur2


@given(st.binary(max_size=300))
def test_murmur2_is_aiokafkas(data: bytes) -> None:
    assert murmur2(data) == aiokafka_murmur2(data)


def test_partitions_of_known_keys() -> None:
    # The Java client's Utils.toPositive(Utils.murmur2(key)) % partitions, as its own
    # tests publish them (murmur2 of "21" is -973932308, of "foobar" -790332482).
    assert murmur2(b"21") == -973932308 & 0xFFFFFFFF
    assert murmur2(b"foobar") == -790332482 & 0xFFFFFFFF
    assert key_partition(b"", 3) == (murmur2(b"") & 0x7FFFFFFF) % 3
