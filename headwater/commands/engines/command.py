"""``headwater engines fetch|start|stop``."""

from __future__ import annotations

import os
import signal
import time
from contextlib import ExitStack
from pathlib import Path

from headwater.commands.engines.fetch import KAFKA, OPENSEARCH, fetch
from headwater.commands.engines.run import start_kafka, start_opensearch

__all__ = ["run_engines"]


def run_engines(action: str, cache: Path, data_dir: Path) -> int:
    if action == "fetch":
        for spec in (KAFKA, OPENSEARCH):
            print(f"{spec.name} {spec.version}: {fetch(spec, cache)}")
        return 0
    pid_file = data_dir / "engines.pid"
    if action == "stop":
        return _stop(pid_file)
    return _start(cache, data_dir, pid_file)


def _start(cache: Path, data_dir: Path, pid_file: Path) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as running:
        pid_file.write_text(str(os.getpid()))
        running.callback(pid_file.unlink, missing_ok=True)  # last: `stop` waits for it
        kafka = start_kafka(data_dir, cache, log_path=data_dir / "kafka.log")
        running.callback(kafka.stop)
        search = start_opensearch(data_dir, cache, log_path=data_dir / "opensearch.log")
        running.callback(search.stop)
        print(f"HEADWATER_KAFKA={kafka.address}")
        print(f"HEADWATER_SEARCH={search.address}", flush=True)
        print(f"# data in {data_dir}; Ctrl-C or `headwater engines stop` stops both", flush=True)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while kafka.process.running and search.process.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            return 0
        stopped = kafka if not kafka.process.running else search
        print(f"headwater engines: {stopped.name} exited; see {stopped.process.log_path}")
        return 1
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # `stop` (SIGTERM) ends like Ctrl-C: both engines shut down


def _stop(pid_file: Path, timeout: float = 120.0) -> int:
    if not pid_file.exists():
        print(f"headwater engines: not running (no {pid_file})")
        return 0
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink()
        return 0
    deadline = time.monotonic() + timeout
    while pid_file.exists():
        if time.monotonic() > deadline:
            print(f"headwater engines: process {pid} still running after {timeout:.0f}s")
            return 1
        time.sleep(0.2)
    return 0
