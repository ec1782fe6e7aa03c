"""Exclusive locks on files between processes of this host."""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO

__all__ = ["try_lock"]


def try_lock(path: Path) -> IO[str] | None:
    """``path`` opened (created if missing) and locked exclusively, or None, with
    nothing left open, when another process holds it. The lock lasts until the
    returned file is closed or the process ends (the OS releases it then)."""
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle
