"""The exact, bounded memory of applied intake offsets (core/offsets.py)."""

from __future__ import annotations

import random

from headwater.core.offsets import WINDOW, AppliedOffsets, record, seen


def apply_all(offsets: list[int]) -> AppliedOffsets | None:
    applied: AppliedOffsets | None = None
    for offset in offsets:
        assert not seen(applied, offset)
        applied, _ = record(applied, offset)
    return applied


def test_nothing_is_seen_before_anything_is_applied():
    assert seen(None, 0) is False


def test_applied_offsets_are_seen_and_holes_are_not():
    applied = apply_all([3, 9, 20])

    assert [seen(applied, o) for o in (3, 9, 20)] == [True, True, True]
    assert [seen(applied, o) for o in (4, 10, 21)] == [False, False, False]


def test_filling_a_hole_is_reported_as_late():
    applied, late = record(None, 10)
    assert late is False

    applied, late = record(applied, 5)

    assert late is True
    assert seen(applied, 5) and seen(applied, 10)


def test_contiguous_runs_fold_into_the_floor():
    applied = apply_all([0, 1, 2, 3])

    assert applied == {"floor": 3, "above": []}


def test_memory_is_bounded_and_forgets_oldest_holes_first():
    offsets = list(range(0, 4 * WINDOW, 2))  # every other offset: none contiguous
    applied = apply_all(offsets)

    assert applied is not None
    assert len(applied["above"]) == WINDOW
    assert seen(applied, offsets[-1] - 1) is False  # a recent hole is still known
    assert seen(applied, 1) is True  # an ancient one is assumed applied


def test_any_delivery_order_within_the_window_applies_each_offset_once():
    rng = random.Random(7)
    offsets = list(range(WINDOW))
    deliveries = offsets + rng.sample(offsets, WINDOW // 2)  # redeliveries
    rng.shuffle(deliveries)
    applied: AppliedOffsets | None = None
    counted: list[int] = []

    for offset in deliveries:
        if not seen(applied, offset):
            applied, _ = record(applied, offset)
            counted.append(offset)

    assert sorted(counted) == offsets
