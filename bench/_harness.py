"""Shared pieces of the benchmarks: the engines (stand-ins or Apache) on free ports, wrk
runs, output.

Every benchmark prints human-readable lines, each saying which engines it ran on, and
ends with one JSON line of figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from argparse import ArgumentParser
from collections.abc import Callable, Coroutine
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._measure import tree_cpu_seconds, tree_rss_bytes
from headwater.commands.embedded import (
    ManagedProcess,
    free_port,
    start_process,
    wait_http,
)
from headwater.commands.engines import KAFKA, OPENSEARCH
from headwater.commands.init import InitResult, run_init
from headwater.commands.up_engines import ENGINES, STANDINS, start_broker, start_search_server
from headwater.settings import Settings, load_settings

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = io.open(os.getenv("HW_BODY_FILE"), "rb"):read()

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
               + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


@dataclass(frozen=True)
class Served:
    """An HTTP process a benchmark started: where it answers, and its pid (whose CPU,
    with its children's, the benchmark counts)."""

    url: str
    pid: int


@dataclass
class LoadResult:
    name: str
    events_per_request: int
    requests: int
    seconds: float
    errors: int  # every failure wrk counts: connect, read, write, timeout, non-2xx
    non2xx: int
    p50_ms: float
    p99_ms: float
    cpu_seconds: float | None = None  # the served process tree's CPU during the run
    rss_peak_bytes: int | None = None  # the served process tree's most resident memory

    @property
    def cpu_us_per_request(self) -> float | None:
        """CPU per request of the process under load: unlike req/s, hardly moved by what
        else runs on the machine."""
        if self.cpu_seconds is None or not self.requests:
            return None
        return self.cpu_seconds / self.requests * 1e6

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def eps(self) -> float:
        return self.rps * self.events_per_request

    def figures(self) -> dict[str, Any]:
        return {
            "req_per_s": round(self.rps, 1),
            "events_per_s": round(self.eps, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "errors": self.errors,
            "non2xx": self.non2xx,
            "requests": self.requests,
            "cpu_us_per_request": None
            if self.cpu_us_per_request is None
            else round(self.cpu_us_per_request, 1),
            "rss_peak_mib": None
            if self.rss_peak_bytes is None
            else round(self.rss_peak_bytes / 2**20, 1),
        }

    def line(self, engines: str) -> str:
        cpu = self.cpu_us_per_request
        rss = self.rss_peak_bytes
        return (
            f"{self.name:<14} {self.rps:>9.0f} req/s {self.eps:>10.0f} events/s "
            f"p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms  "
            + ("" if cpu is None else f"cpu {cpu:5.0f} us/req  ")
            + ("" if rss is None else f"rss {rss / 2**20:.0f} MiB  ")
            + f"errors {self.errors} (non-2xx {self.non2xx})  [{engines}]"
        )


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("bench: needs wrk (Debian package 'wrk'): apt-get install -y wrk")
    return wrk


def run_wrk(
    name: str,
    url: str,
    body: bytes,
    events_per_request: int,
    *,
    duration: int,
    connections: int,
    threads: int = 1,
    cpu_of: int | None = None,
) -> LoadResult:
    """wrk's figures; with ``cpu_of`` (a pid) also that process tree's CPU meanwhile and
    its peak resident memory (sampled every half second)."""
    wrk = require_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp, "post.lua")
        script.write_text(WRK_SCRIPT)
        body_file = Path(tmp, "body.json")
        body_file.write_bytes(body)
        cpu_before = None if cpu_of is None else tree_cpu_seconds(cpu_of)
        load = subprocess.Popen(
            [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "-s", str(script), url],
            env={**os.environ, "HW_BODY_FILE": str(body_file)},
            stdout=subprocess.PIPE,
            text=True,
        )
        rss = 0
        while load.poll() is None:
            if cpu_of is not None:
                rss = max(rss, tree_rss_bytes(cpu_of))
            time.sleep(0.5)
        out = load.communicate()[0]
        if load.returncode:
            raise subprocess.CalledProcessError(load.returncode, "wrk", out)
        cpu = None if cpu_before is None else tree_cpu_seconds(cpu_of) - cpu_before  # type: ignore[arg-type]
    line = next(row for row in out.splitlines() if row.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    return LoadResult(
        name=name,
        events_per_request=events_per_request,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["errors"],
        non2xx=data["non2xx"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        cpu_seconds=cpu,
        rss_peak_bytes=rss or None,
    )


def add_engines_option(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--engines",
        choices=ENGINES,
        default=STANDINS,
        help="what to run on: 'standins' (default; the embedded Tansu broker and osmem "
        f"search server) or 'apache' (Apache Kafka {KAFKA.version} and OpenSearch "
        f"{OPENSEARCH.version} from the engines cache, see `headwater engines fetch`), "
        "started here with their data in a temporary directory and stopped at the end. "
        "HEADWATER_KAFKA / HEADWATER_SEARCH, when set, are used instead of starting that "
        "engine (they must be of the chosen kind); the output says which",
    )


class Services:
    """The broker and search server of ``engines`` on free ports (or HEADWATER_KAFKA /
    HEADWATER_SEARCH), plus init; ``label`` names them on every figure line."""

    def __init__(self, stack: ExitStack, logs: Path, engines: str = STANDINS) -> None:
        self._stack = stack
        self.logs = logs
        self.engines = engines
        env = load_settings()
        kafka, search = env.kafka, env.search
        self.origin = {
            "kafka": "HEADWATER_KAFKA" if kafka else "started",
            "search": "HEADWATER_SEARCH" if search else "started",
        }
        if kafka is None:
            broker = start_broker(engines, logs, env.engines_cache, logs / "kafka.log")
            self._own(broker.process)
            kafka = broker.address
        if search is None:
            server = start_search_server(engines, logs, env.engines_cache, logs / "search.log")
            self._own(server.process)
            search = server.address
        run = secrets.token_hex(3)  # engines from the environment may be shared
        self.settings: Settings = load_settings(
            kafka=kafka,
            search=search,
            data_dir=logs,
            topic_prefix=f"bench-{run}",
            index_prefix=f"bench{run}",
        )
        self.init: InitResult = asyncio.run(run_init(self.settings))

    @property
    def standins(self) -> bool:
        return self.engines == STANDINS

    def _name(self, engine: str, standin: str, apache: str, version: str) -> str:
        if self.standins:
            return standin
        return f"{apache} {version}" if self.origin[engine] == "started" else apache

    @property
    def kafka_name(self) -> str:
        return self._name("kafka", "Tansu", "Apache Kafka", KAFKA.version)

    @property
    def search_name(self) -> str:
        return self._name("search", "osmem", "OpenSearch", OPENSEARCH.version)

    @property
    def label(self) -> str:
        """Short, for every figure line: ``apache`` or ``standins``, and ``env`` when an
        engine came from HEADWATER_KAFKA / HEADWATER_SEARCH."""
        given = [name for name, origin in self.origin.items() if origin != "started"]
        return self.engines + (f", {'+'.join(given)} from env" if given else "")

    def describe(self) -> str:
        """Long, once at the start: which engine, where, started here or given."""
        return (
            f"engines: {self.engines}: {self.kafka_name} at {self.settings.kafka_servers} "
            f"({self.origin['kafka']}), {self.search_name} at "
            f"{','.join(self.settings.search_hosts)} ({self.origin['search']})"
        )

    def figures(self) -> dict[str, Any]:
        return {
            "kind": self.engines,
            "kafka": self.kafka_name,
            "kafka_from": self.origin["kafka"],
            "search": self.search_name,
            "search_from": self.origin["search"],
        }

    def _own(self, process: ManagedProcess) -> ManagedProcess:
        self._stack.callback(process.stop)
        return process

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "HEADWATER_KAFKA": self.settings.kafka_servers,
            "HEADWATER_SEARCH": ",".join(self.settings.search_hosts),
            "HEADWATER_TOPIC_PREFIX": self.settings.topic_prefix,
            "HEADWATER_INDEX_PREFIX": self.settings.index_prefix,
            "HEADWATER_DATA_DIR": str(self.logs),
            "HEADWATER_LOG_LEVEL": "warning",
            # only Tansu misreports end offsets of multi-record batches (see Settings)
            "HEADWATER_WORKER_SINGLE_RECORD_BATCHES": str(self.standins).lower(),
            **extra,
        }

    def start_collector(self, workers: int = 1) -> Served:
        port = free_port()
        command = [sys.executable, "-m", "headwater", "collector", "--port", str(port)]
        process = self._own(
            start_process(
                "collector",
                [*command, "--workers", str(workers)],
                log_path=self.logs / "collector.log",
                env=self.env(),
            )
        )
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/health/ready", 60, process)
        return Served(url, process.popen.pid)

    def start_worker(self) -> ManagedProcess:
        return self._own(
            start_process(
                "worker",
                [sys.executable, "-m", "headwater", "worker"],
                log_path=self.logs / "worker.log",
                env=self.env(),
            )
        )


def start_bare_endpoint(stack: ExitStack, logs: Path, workers: int = 1) -> Served:
    """The same uvicorn set-up serving a FastAPI route that only parses the body."""
    port = free_port()
    process = start_process(
        "bare",
        [sys.executable, "-m", "bench.bare_app", str(port), str(workers)],
        log_path=logs / "bare.log",
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    stack.callback(process.stop)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health", 30, process)
    return Served(url, process.popen.pid)


def print_json(figures: dict[str, Any]) -> None:
    print(json.dumps(figures), flush=True)


def run_with_services(
    engines: str, run: Callable[[ExitStack, Services], Coroutine[Any, Any, None]]
) -> None:
    """``run`` on ``engines`` started here, logs in a temporary folder kept on failure."""
    logs = Path(tempfile.mkdtemp(prefix="hw-bench-"))
    try:
        with ExitStack() as stack:
            services = Services(stack, logs, engines)
            asyncio.run(run(stack, services))
    except BaseException:
        print(f"bench: logs kept in {logs}", file=sys.stderr)
        raise
    shutil.rmtree(logs, ignore_errors=True)
