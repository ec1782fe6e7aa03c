"""Random (version 4) UUID strings, made in bulk: one ``urandom`` call per request
instead of one ``uuid.uuid4()`` per id (which dominated intake of many-event requests)."""

from __future__ import annotations

import hashlib
import os

__all__ = ["IdPool", "name_id", "new_id"]

_VARIANT = "89ab"


def _format(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def new_id() -> str:
    return _format(os.urandom(16).hex())


class IdPool:
    """Hands out UUID4 strings drawn from one read of the OS random source."""

    __slots__ = ("_hex", "_next")

    def __init__(self, count: int) -> None:
        self._hex = os.urandom(16 * max(count, 1)).hex()
        self._next = 0

    def __call__(self) -> str:
        start = self._next
        h = self._hex
        if start + 32 > len(h):
            return new_id()
        self._next = start + 32
        return (
            f"{h[start : start + 8]}-{h[start + 8 : start + 12]}-4{h[start + 13 : start + 16]}-"
            f"{_VARIANT[int(h[start + 16], 16) & 3]}{h[start + 17 : start + 20]}-"
            f"{h[start + 20 : start + 32]}"
        )


def name_id(namespace: bytes, name: str) -> str:
    """``str(uuid.uuid5(UUID(bytes=namespace), name))`` in a third of the time (no UUID
    object): intake derives two of these per Segment message."""
    h = hashlib.sha1(namespace + name.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"
