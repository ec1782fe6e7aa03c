"""Where an import keeps how far it got: written only after Kafka acknowledged every
record up to that point, so a resumed import never skips what was not stored."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

__all__ = ["Checkpoint", "CheckpointStore", "FileCheckpoints"]


@dataclass
class Checkpoint:
    """How far one import got. ``cursor`` is the source's position after the last record
    settled (imported or rejected), ``rejects_bytes`` the length of the reject file then;
    counts are of the whole import (every run)."""

    import_id: str
    received_at: int  # epoch ms: the received time of every record of this import
    cursor: dict[str, Any] | None = None
    read: int = 0
    imported: int = 0
    events: int = 0
    rejected: int = 0
    rejects_bytes: int = 0
    done: bool = False
    describe: dict[str, Any] = field(default_factory=dict)  # what was imported, for people

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> Checkpoint:
        return cls(**orjson.loads(raw))


class CheckpointStore(Protocol):
    """Keeps checkpoints by import id. A job runner keeps them with the job (the jobs
    topic); the CLI keeps them in files (:class:`FileCheckpoints`)."""

    async def load(self, import_id: str) -> Checkpoint | None: ...

    async def save(self, checkpoint: Checkpoint) -> None: ...


class FileCheckpoints:
    """One JSON file per import in ``directory``, replaced atomically (write, fsync,
    rename), so a kill leaves the previous checkpoint or the new one, never half."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, import_id: str) -> Path:
        return self.directory / f"{import_id}.checkpoint.json"

    async def load(self, import_id: str) -> Checkpoint | None:
        path = self.path(import_id)
        if not path.exists():
            return None
        return Checkpoint.from_json(path.read_bytes())

    async def save(self, checkpoint: Checkpoint) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path(checkpoint.import_id)
        temporary = path.with_suffix(".tmp")
        with temporary.open("wb") as out:
            out.write(checkpoint.to_json())
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)
