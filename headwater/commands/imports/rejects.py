"""The reject file: one JSON line per rejected record, with where it was and why."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, BinaryIO

import orjson

__all__ = ["RejectFile", "first_rejects"]

_KEEP = 2048  # characters of a rejected record kept in its line


class RejectFile:
    """Appends rejects; cut back to ``keep_bytes`` when opened (what a killed run wrote
    after its last checkpoint is written again by the resumed run, once)."""

    def __init__(self, path: Path, keep_bytes: int) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO = path.open("r+b" if path.exists() else "w+b")
        size = self._file.seek(0, os.SEEK_END)
        self._file.truncate(min(keep_bytes, size))
        self._file.seek(0, os.SEEK_END)

    def add(self, where: str, reason: str, record: str | None) -> None:
        line: dict[str, Any] = {"where": where, "reason": reason}
        if record is not None:
            line["record"] = record[:_KEEP]
        self._file.write(orjson.dumps(line) + b"\n")

    def flush(self) -> int:
        """Write through; the file's length, for the checkpoint."""
        self._file.flush()
        os.fsync(self._file.fileno())
        return self._file.tell()

    def close(self) -> None:
        self._file.close()


def first_rejects(path: Path, count: int) -> list[dict[str, Any]]:
    """The first ``count`` rejects of a reject file, for the summary."""
    found: list[dict[str, Any]] = []
    with path.open("rb") as lines:
        for line in lines:
            if len(found) >= count:
                break
            found.append(orjson.loads(line))
    return found
