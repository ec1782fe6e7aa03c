"""Which intake offsets a profile has applied, exactly, in bounded space.

A high watermark alone ("everything up to offset N was applied") is only right if each
partition is delivered in order without holes. Faust does not promise that across a
rebalance: messages queued when partitions are revoked are dropped, and the fetcher
does not always seek back before later offsets are processed. The dropped messages
come back after the next restart, below the watermark, and a watermark would skip
them: events lost.

So per partition the profile keeps a floor (every offset at or below it was applied)
plus the exact set of applied offsets above it, at most :data:`WINDOW` of them. A
message is a redelivery only if its offset is at or below the floor or in the set; an
offset inside the window that is not in the set fills a hole and is applied. The floor
rises only when the window overflows, so a hole is remembered until ``WINDOW`` later
messages of the same profile and partition have been applied.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import Any, TypedDict

__all__ = ["WINDOW", "AppliedOffsets", "from_watermark", "record", "seen", "upgrade"]

WINDOW = 128


class AppliedOffsets(TypedDict):
    floor: int  # every offset <= floor was applied (-1: none known)
    above: list[int]  # applied offsets > floor, ascending, at most WINDOW


def from_watermark(watermark: int) -> AppliedOffsets:
    """State written before exact offsets were kept: a bare watermark."""
    return {"floor": watermark, "above": []}


def seen(applied: AppliedOffsets | None, offset: int) -> bool:
    if applied is None:
        return False
    if offset <= applied["floor"]:
        return True
    above = applied["above"]
    at = bisect_left(above, offset)
    return at < len(above) and above[at] == offset


def record(applied: AppliedOffsets | None, offset: int) -> tuple[AppliedOffsets, bool]:
    """Remember ``offset`` as applied; the flag says it filled a hole (arrived late)."""
    if applied is None:
        applied = {"floor": -1, "above": []}
    above = applied["above"]
    late = bool(above) and offset < above[-1]
    insort(above, offset)
    while len(above) > WINDOW:
        applied["floor"] = above.pop(0)
    # A run that starts right above the floor needs no memory: fold it into the floor.
    while above and above[0] == applied["floor"] + 1:
        applied["floor"] = above.pop(0)
    return applied, late


def upgrade(state: dict[str, Any]) -> dict[str, AppliedOffsets]:
    """Offsets from a stored profile state, whichever form it was written in."""
    if "applied_offsets" in state:
        return state.pop("applied_offsets")  # type: ignore[no-any-return]
    marks: dict[str, int] = state.pop("watermarks", {})
    return {origin: from_watermark(offset) for origin, offset in marks.items()}
