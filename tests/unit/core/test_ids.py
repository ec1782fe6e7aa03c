"""Ids handed out in bulk must still be proper, distinct UUID4 strings; ids made from
names must be exactly uuid5."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.core.ids import IdPool, name_id, new_id
from tests.unit.factories import is_uuid4


def test_new_id_is_uuid4():
    ids = [new_id() for _ in range(2000)]

    assert all(is_uuid4(i) for i in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("count", [1, 2, 7, 300])
def test_pool_ids_are_uuid4_and_distinct(count):
    pool = IdPool(count)

    ids = [pool() for _ in range(count)]

    assert all(is_uuid4(i) for i in ids)
    assert len(set(ids)) == count


@pytest.mark.parametrize("count", [0, -3, 1, 5])
def test_pool_keeps_going_when_it_runs_out(count):
    pool = IdPool(count)

    ids = [pool() for _ in range(max(count, 1) + 50)]

    assert all(is_uuid4(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_pools_do_not_repeat_each_other():
    ids = [IdPool(4)() for _ in range(500)]

    assert len(set(ids)) == 500


def test_variant_digit_covers_all_four_values():
    # The variant nibble is 10xx: 8, 9, a or b, each drawn from the random bits.
    pool = IdPool(2000)

    variants = {pool()[19] for _ in range(2000)}

    assert variants == set("89ab")


@given(namespace=st.uuids(), name=st.text())
def test_name_id_is_uuid5(namespace, name):
    assert name_id(namespace.bytes, name) == str(uuid.uuid5(namespace, name))
