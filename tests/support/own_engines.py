"""A test's own broker or search server, of the kind the suite runs on, that the test may
kill, stop, pause and start again on the same port (and, for the Apache engines, the same
data). The shared endpoints are never touched: other tests use them at the same time.

The stand-ins keep everything in memory: after a restart Tansu has no topics and osmem
no indices (``durable`` is False), so a test re-creates what it needs or skips.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from headwater.commands.embedded import ManagedProcess, free_port
from headwater.commands.up_engines import APACHE, start_broker, start_search_server
from tests.support.services import engines_cache

__all__ = ["OwnEngine", "own_broker", "own_search"]

# (port, data dir, log) -> the started process
_Start = Callable[[int, Path, Path], ManagedProcess]


class OwnEngine:
    """One engine on a fixed port; every start logs to ``<name>-<n>.log`` in ``data``."""

    def __init__(self, name: str, kind: str, start: _Start, data: Path, address: str) -> None:
        self.name = name
        self.kind = kind
        self.data = data
        self.port = free_port()
        self.address = address.format(port=self.port)
        self._start = start
        self._starts = 0
        self.process: ManagedProcess | None = None

    @property
    def durable(self) -> bool:
        """Whether topics or indices survive a restart (Apache engines: on disk)."""
        return self.kind == APACHE

    def start(self) -> None:
        assert self.process is None or not self.process.running, f"{self.name} runs already"
        self._starts += 1
        log = self.data / f"{self.name}-{self._starts}.log"
        self.process = self._start(self.port, self.data, log)

    def kill(self) -> None:
        """``kill -9``: no shutdown, no flush."""
        self._running().kill()

    def stop(self) -> None:
        """A clean stop (SIGTERM)."""
        if self.process is not None:
            self.process.stop(timeout=60)

    def pause(self, timeout: float = 10.0) -> None:
        """Hung (SIGSTOP): connections stay open and nothing answers. Returns once every
        thread has stopped: the signal stops a process asynchronously, and on a busy
        machine its other threads went on answering requests for 100 ms and more."""
        process = self._running()
        process.popen.send_signal(signal.SIGSTOP)
        tasks = Path(f"/proc/{process.popen.pid}/task")
        deadline = time.monotonic() + timeout
        while not all(_stopped(task) for task in tasks.iterdir()):
            assert time.monotonic() < deadline, f"{self.name} did not stop within {timeout}s"
            time.sleep(0.01)

    def resume(self) -> None:
        self._running().popen.send_signal(signal.SIGCONT)

    def _running(self) -> ManagedProcess:
        assert self.process is not None and self.process.running, f"{self.name} is not running"
        return self.process


def _stopped(task: Path) -> bool:
    """Whether a thread (``/proc/<pid>/task/<tid>``) is stopped by a signal (state T);
    one that has exited meanwhile counts as stopped."""
    try:
        stat = (task / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "T"


@contextmanager
def _started(engine: OwnEngine) -> Iterator[OwnEngine]:
    engine.start()
    try:
        yield engine
    finally:
        if engine.process is not None and engine.process.running:
            engine.process.popen.send_signal(signal.SIGCONT)  # a paused JVM cannot stop
        engine.stop()


def own_broker(kind: str, data: Path) -> AbstractContextManager[OwnEngine]:
    """Start a broker of ``kind`` (Apache Kafka or Tansu) with its data under ``data``."""

    def start(port: int, data: Path, log: Path) -> ManagedProcess:
        return start_broker(kind, data, engines_cache(), log, port).process

    return _started(OwnEngine("kafka", kind, start, data, "127.0.0.1:{port}"))


def own_search(kind: str, data: Path) -> AbstractContextManager[OwnEngine]:
    """Start a search server of ``kind`` (OpenSearch or osmem) with its data under ``data``."""

    def start(port: int, data: Path, log: Path) -> ManagedProcess:
        return start_search_server(kind, data, engines_cache(), log, port).process

    return _started(OwnEngine("search", kind, start, data, "http://127.0.0.1:{port}"))
