"""End-to-end fixtures: the real ``headwater`` processes."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import Endpoints

pytestmark = pytest.mark.e2e


@dataclass
class UpStack:
    process: subprocess.Popen[str]
    info: dict[str, Any]
    data_dir: Path


def _read_json_line(process: subprocess.Popen[str], out: Path, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"headwater up exited with {process.returncode}")
        for line in out.read_text().splitlines():
            # its stdout's one JSON line; its log lines (stderr, same file) are JSON too
            try:
                found = json.loads(line) if line.startswith("{") else None
            except ValueError:  # still being written
                break
            if isinstance(found, dict) and "logger" not in found:
                return found
        time.sleep(0.1)
    raise AssertionError(f"headwater up printed no JSON line within {timeout}s")


@pytest.fixture(scope="module")
def up_stack(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpStack]:
    """``headwater up --json`` on free ports; the external endpoints when not embedded."""
    external = not endpoints.standins
    with run_up(tmp_path_factory.mktemp("up"), endpoints if external else None) as stack:
        yield stack


def start_up(
    data_dir: Path,
    endpoints: Endpoints | None,
    port_base: int,
    *extra: str,
    settings: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[str], Path]:
    """Start ``headwater up --json``; its output goes to ``data_dir/up.out`` (returned).
    ``settings``: HEADWATER_* variables for its processes (others are not inherited)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(settings or {})
    if "HEADWATER_ENGINES_CACHE" in os.environ:  # where `--engines apache` finds its jars
        env["HEADWATER_ENGINES_CACHE"] = os.environ["HEADWATER_ENGINES_CACHE"]
    if endpoints is not None:
        env.update(HEADWATER_KAFKA=endpoints.kafka, HEADWATER_SEARCH=endpoints.search)
    data_dir.mkdir(parents=True, exist_ok=True)
    out = data_dir / "up.out"
    with out.open("w") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "headwater",
                "up",
                "--json",
                "--port-base",
                str(port_base),
                "--data-dir",
                str(data_dir),
                *extra,
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
    return process, out


@contextmanager
def run_up(
    data_dir: Path,
    endpoints: Endpoints | None,
    port_base: int | None = None,
    extra: tuple[str, ...] = (),
    ready_timeout: float = 120,
    settings: dict[str, str] | None = None,
) -> Iterator[UpStack]:
    """Run ``headwater up --json`` (and ``extra`` arguments); with ``endpoints`` it is
    told to use them; ``settings`` as in :func:`start_up`."""
    # five ports: --staging-collector uses the fifth
    process, out = start_up(
        data_dir, endpoints, port_base or free_port_run(5), *extra, settings=settings
    )
    try:
        info = _read_json_line(process, out, ready_timeout)
        yield UpStack(process, info, data_dir)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


def free_port_run(count: int) -> int:
    """A base port with ``count`` free ports after it, below the ephemeral range: a port
    in that range can be taken by any outgoing connection (the stack's own clients among
    them) between this check and the server's bind, and the slower ``up`` starts (Apache
    engines: a minute), the likelier that is."""
    low = _ephemeral_low() - count
    for _ in range(200):
        base = random.randrange(10_000, low)
        try:
            sockets = []
            for offset in range(count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return base
    raise RuntimeError("no run of free ports found")


def _ephemeral_low() -> int:
    """The first port the kernel hands out for outgoing connections (Linux; else IANA's)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 49152


def headwater_command(
    info: dict[str, Any],
    *args: str,
    settings: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``headwater ARGS`` as an operator runs it against a running stack (``info``: what
    ``up --json`` printed; ``settings``: more HEADWATER_* variables); asserts it succeeded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env.update(settings or {})
    env.update(HEADWATER_KAFKA=info["kafka"], HEADWATER_SEARCH=info["search"])
    done = subprocess.run(
        [sys.executable, "-m", "headwater", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done
