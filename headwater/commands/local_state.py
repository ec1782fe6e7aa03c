"""What ``headwater up`` keeps in its data directory between runs, and what it must not.

The worker's tables (RocksDB, under ``worker/``) are built from the broker's changelog
topics. The embedded broker keeps its topics in memory, so each ``up`` starts with an
empty log; state built from the previous run's log would then claim offsets the new log
never had (Faust stops with a ``ConsistencyError``) or serve profiles the log no longer
holds. Such state is deleted before the worker starts. With a real broker the state is
kept: it matches the log, and only what changed since is read again. ``up --engines
apache`` names its broker by the cluster id of the log under ``<data dir>/engines``, so
the state is kept across restarts (on any port) and dropped once that log is deleted.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from headwater.errors import ConfigurationError
from headwater.streams.file_lock import try_lock

__all__ = ["DERIVED_STATE", "EMBEDDED_BROKER", "forget_state_of_lost_log", "lock_data_dir"]

DERIVED_STATE = "worker"  # the data directory's entry that holds state built from the log
EMBEDDED_BROKER = "embedded (in memory)"
_BUILT_FROM = ".built-from"  # in DERIVED_STATE: which broker's log the state came from


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Hold ``data_dir`` for this ``up`` (until the returned file is closed or we exit)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = try_lock(data_dir / "up.lock")
    if handle is None:
        raise ConfigurationError(
            f"{data_dir} is used by another running `headwater up`; stop it or choose "
            "another --data-dir"
        )
    return handle


def forget_state_of_lost_log(data_dir: Path, broker: str) -> bool:
    """Delete the worker state that was not built from ``broker``'s log; True if it did.

    ``broker`` is :data:`EMBEDDED_BROKER` when this run starts the in-memory broker: its
    log is new, so every earlier state is stale. Otherwise it names the broker (its
    bootstrap servers), and state built from another broker's log is stale.
    """
    state = data_dir / DERIVED_STATE
    marker = state / _BUILT_FROM
    built_from = marker.read_text().strip() if marker.exists() else None
    stale = state.exists() and (
        broker == EMBEDDED_BROKER or (built_from is not None and built_from != broker)
    )
    if stale:
        with ExitStack() as held:
            for slot_lock in _slot_locks(state):
                held.enter_context(slot_lock)
            shutil.rmtree(state)
    state.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{broker}\n")
    return stale


def _slot_locks(state: Path) -> Iterator[IO[str]]:
    """Each worker slot's lock (see ``claim_state_dir``), taken; refuses if one is held."""
    for lock in sorted(state.glob("*/slot-*/.lock")):
        handle = try_lock(lock)
        if handle is None:
            raise ConfigurationError(f"{lock.parent} is used by a running worker; stop it first")
        yield handle
