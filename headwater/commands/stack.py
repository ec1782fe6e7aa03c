"""``headwater up``: the whole platform on one machine.

Starts a broker and a search server (the embedded stand-ins, or Apache Kafka and
OpenSearch with ``--engines apache``: see :mod:`headwater.commands.up_engines`) unless
``HEADWATER_KAFKA`` / ``HEADWATER_SEARCH`` point elsewhere, runs init, then the
collector, a worker and the private API as child processes, and stops everything (newest
first) on Ctrl-C or SIGTERM.

Before starting anything it checks that Java is there when the Apache engines are
wanted, that every port it needs is free and that no other ``up`` uses the data
directory. Before the worker starts it drops the worker state the broker's log cannot
back, such as the embedded broker's new, empty log (see
:mod:`headwater.commands.local_state`). Each run writes fresh logs; the previous run's are
kept as ``<name>.log.1``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from headwater.commands.embedded import ManagedProcess, port_in_use, start_process, wait_http
from headwater.commands.init import InitResult, run_init
from headwater.commands.local_state import EMBEDDED_BROKER, forget_state_of_lost_log, lock_data_dir
from headwater.commands.up_engines import STANDINS, UpEngines
from headwater.errors import ConfigurationError
from headwater.settings import Settings

__all__ = ["DEFAULT_PORT_BASE", "StackPorts", "run_up", "wait_log_line"]

DEFAULT_PORT_BASE = 8686


@dataclass(frozen=True)
class StackPorts:
    """Every port ``up`` opens, as offsets from one base (``--port-base``)."""

    base: int = DEFAULT_PORT_BASE

    @property
    def collector(self) -> int:
        return self.base

    @property
    def api(self) -> int:
        return self.base + 1

    @property
    def kafka(self) -> int:
        return self.base + 2

    @property
    def search(self) -> int:
        return self.base + 3

    @property
    def staging_collector(self) -> int:  # only with --staging-collector
        return self.base + 4

    def bridge(self, kind: str) -> int:  # only with --bridges: health endpoints
        return self.base + {"mqtt": 5, "amqp": 6, "kafka": 7, "imap": 8, "smtp": 9}[kind]


class _Stack:
    def __init__(
        self,
        settings: Settings,
        ports: StackPorts,
        data_dir: Path,
        staging: bool = False,
        engines: str = STANDINS,
        bridges: tuple[str, ...] = (),
    ) -> None:
        self.settings = settings
        self.bridges = bridges  # channel kinds whose bridge process runs
        self.engines = UpEngines(engines, settings, data_dir)
        self.ports = ports
        self.data_dir = data_dir
        self.staging = staging  # also run a collector for the staging environment
        self.logs = data_dir / "logs"
        self.processes: list[ManagedProcess] = []
        self.stopping = threading.Event()
        self._data_dir_lock: IO[str] | None = None

    def start(self) -> dict[str, Any]:
        self.engines.check()
        self._check_ports()
        self._data_dir_lock = lock_data_dir(self.data_dir)
        self.logs.mkdir(parents=True, exist_ok=True)
        started = self._started
        kafka, broker = self.engines.start_kafka(self.ports.kafka, self._log, started)
        search = self.engines.start_search(self.ports.search, self._log, started)
        forget_state_of_lost_log(self.data_dir, broker)

        settings = self.settings.model_copy(
            update={
                "kafka": kafka,
                "search": search,
                "data_dir": self.data_dir,
                "collector_port": self.ports.collector,
            }
        )
        init = asyncio.run(run_init(settings))

        env = {
            # several collectors and workers on one host: no metrics listeners unless
            # asked for (the API's /metrics and the bridges' are on their own ports)
            "HEADWATER_COLLECTOR_METRICS_PORT": "0",
            "HEADWATER_WORKER_METRICS_PORT": "0",
            **os.environ,
            "HEADWATER_KAFKA": kafka,
            "HEADWATER_SEARCH": search,
            "HEADWATER_DATA_DIR": str(self.data_dir),
            "HEADWATER_COLLECTOR_PORT": str(self.ports.collector),
        }
        if broker == EMBEDDED_BROKER:  # Tansu: see Settings
            env["HEADWATER_WORKER_SINGLE_RECORD_BATCHES"] = "true"
        python = [sys.executable, "-m", "headwater"]
        if self.settings.secrets_key is None:  # the worker and collectors open what the API seals
            secrets_key = local_secret(self.data_dir / "secrets-key")
            env = {**env, "HEADWATER_SECRETS_KEY": secrets_key}
        collector = start_process(
            "collector", [*python, "collector"], log_path=self._log("collector"), env=env
        )
        self._started(collector)
        worker = start_process("worker", [*python, "worker"], log_path=self._log("worker"), env=env)
        self._started(worker)
        api_env = {**env, "HEADWATER_API_PORT": str(self.ports.api)}
        if self.settings.api_secret is None:  # a local secret, made once, kept in data_dir
            api_env["HEADWATER_API_SECRET"] = local_secret(self.data_dir / "api-secret")
        api = start_process("api", [*python, "api"], log_path=self._log("api"), env=api_env)
        self._started(api)

        collector_url = f"http://{settings.collector_host}:{self.ports.collector}"
        wait_http(f"{collector_url}/health/ready", 60, collector)
        wait_log_line(worker, "Ready", 90)
        api_url = f"http://{settings.api_host}:{self.ports.api}"
        wait_http(f"{api_url}/health", 60, api)
        staging = self._start_staging_collector(env, settings, init) if self.staging else {}
        bridges = {f"bridge_{kind}": self._start_bridge(kind, env) for kind in self.bridges}
        for process in self.processes:  # ready means every child of this run still runs
            if not process.running:
                raise process.exited_early()
        return {
            **staging,
            **bridges,
            "collector": collector_url,
            "api": api_url,
            "search": search,
            "kafka": kafka,
            "tenant": init.tenant,
            "env": settings.env,
            "source_id": init.sources[settings.env],
            "write_key": init.write_keys[settings.env],
            "data_dir": str(self.data_dir),
            "logs": str(self.logs),
            **self.engines.summary(),
        }

    def _started(self, process: ManagedProcess) -> None:
        """Keep ``process`` to stop it later, and stop starting when a stop was asked for:
        a Ctrl-C that arrives while a child is forked is not raised in Python (it lands
        in a fork handler, which ignores exceptions), only recorded in ``stopping``."""
        self.processes.append(process)
        if self.stopping.is_set():
            raise KeyboardInterrupt

    def _check_ports(self) -> None:
        """Refuse at once, before starting anything, when a port this stack needs is taken."""
        wanted = [
            ("collector", self.settings.collector_host, self.ports.collector),
            ("api", self.settings.api_host, self.ports.api),
        ]
        if self.staging:
            wanted.append(
                ("staging collector", self.settings.collector_host, self.ports.staging_collector)
            )
        for kind in self.bridges:
            wanted.append((f"{kind} bridge", self.settings.bridge_host, self.ports.bridge(kind)))
        if self.settings.kafka is None:
            wanted.append(("kafka", "127.0.0.1", self.ports.kafka))
        if self.settings.search is None:
            wanted.append(("search", "127.0.0.1", self.ports.search))
        taken = [f"{port} ({name})" for name, host, port in wanted if port_in_use(host, port)]
        if taken:
            ports = f"{'ports' if len(taken) > 1 else 'port'} {', '.join(taken)}"
            raise ConfigurationError(
                f"{ports} already in use (another `headwater up`?); stop it or choose other "
                f"ports with --port-base (now {self.ports.base}; this stack uses "
                f"{self.ports.base} to {self.ports.base + (4 if self.staging else 3)})"
            )

    def _log(self, name: str) -> Path:
        """This run's log of ``name``; the previous run's is kept as ``<name>.log.1``."""
        path = self.logs / f"{name}.log"
        if path.exists():
            path.replace(path.with_name(f"{name}.log.1"))
        return path

    def _start_staging_collector(
        self, env: dict[str, str], settings: Settings, init: InitResult
    ) -> dict[str, str]:
        """A second collector, for the staging environment's sources and write keys: what
        the private API's configuration routes edit by default (``x-context``)."""
        port = self.ports.staging_collector
        staging = start_process(
            "staging-collector",
            [sys.executable, "-m", "headwater", "collector"],
            log_path=self._log("staging-collector"),
            env={
                **env,
                "HEADWATER_ENV": "staging",
                "HEADWATER_COLLECTOR_PORT": str(port),
                "HEADWATER_COLLECTOR_METRICS_PORT": "0",  # the first collector's, if any
            },
        )
        self._started(staging)
        url = f"http://{settings.collector_host}:{port}"
        wait_http(f"{url}/health/ready", 60, staging)
        return {
            "staging_collector": url,
            "staging_source_id": init.sources["staging"],
            "staging_write_key": init.write_keys["staging"],
        }

    def _start_bridge(self, kind: str, env: dict[str, str]) -> str:
        """``headwater bridge KIND``: runs the bridges configured for that channel (none at
        first: it picks up those the API creates)."""
        port = self.ports.bridge(kind)
        bridge = start_process(
            f"{kind}-bridge",
            [sys.executable, "-m", "headwater", "bridge", kind, "--port", str(port)],
            log_path=self._log(f"{kind}-bridge"),
            env=env,
        )
        self._started(bridge)
        url = f"http://{self.settings.bridge_host}:{port}"
        wait_http(f"{url}/health/ready", 60, bridge)
        return url

    def watch(self) -> int:
        """Block until a signal arrives or a child dies; 0 on a requested stop."""
        while not self.stopping.wait(0.5):
            for process in self.processes:
                if not process.running:
                    print(f"headwater: {process.exit_summary()}", file=sys.stderr)
                    return 1
        return 0

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        if self._data_dir_lock is not None:
            self._data_dir_lock.close()
            self._data_dir_lock = None


def local_secret(path: Path) -> str:
    """A random secret kept in ``path`` (mode 0600), made on first use; for ``up`` only."""
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as sink:
        sink.write(secret)
    return secret


def wait_log_line(process: ManagedProcess, needle: str, timeout: float) -> None:
    """Wait until ``process`` itself (not an earlier run in the same log) wrote ``needle``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.running:
            raise process.exited_early()
        if needle in process.log_text():
            return
        time.sleep(0.2)
    raise ConfigurationError(f"{process.name} not ready after {timeout}s; see {process.log_path}")


def _staging_lines(info: dict[str, Any]) -> str:
    if "staging_collector" not in info:
        return ""
    return (
        f"  staging    {info['staging_collector']} (collector for staging sources)\n"
        f"             source id {info['staging_source_id']}, "
        f"write key {info['staging_write_key']}\n"
    )


def _bridge_lines(info: dict[str, Any]) -> str:
    return "".join(
        f"  {key[7:]:<10} {info[key]}/health (bridge)\n"
        for key in info
        if key.startswith("bridge_")
    )


def run_up(
    settings: Settings,
    *,
    ports: StackPorts,
    data_dir: Path,
    as_json: bool,
    staging_collector: bool = False,
    engines: str = STANDINS,
    bridges: tuple[str, ...] = (),
) -> int:
    stack = _Stack(settings, ports, data_dir.resolve(), staging_collector, engines, bridges)
    ready = threading.Event()

    def on_signal(signum: int, _: Any) -> None:
        stack.stopping.set()
        if not ready.is_set():  # stop waiting for services nobody wants any more
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        info = stack.start()
        if stack.stopping.is_set():  # asked while starting, but not raised (see _started)
            raise KeyboardInterrupt
        ready.set()
        if as_json:
            print(json.dumps(info), flush=True)
        else:
            print(
                "Headwater is up.\n"
                f"  collector  {info['collector']}\n"
                f"  api        {info['api']}\n"
                f"  console    {info['api']}/ui/ (log in: headwater init --admin-email)\n"
                f"  search     {info['search']}\n"
                f"  kafka      {info['kafka']}\n"
                f"  engines    {stack.engines.describe()}\n"
                f"  tenant     {info['tenant']} ({info['env']})\n"
                f"  source id  {info['source_id']}\n"
                f"  write key  {info['write_key']} (Segment-compatible SDKs, /v1/*)\n"
                f"{_staging_lines(info)}"
                f"{_bridge_lines(info)}"
                f"  logs       {info['logs']}\n"
                "Send an event:\n"
                f"  curl -s {info['collector']}/track -H 'content-type: application/json' \\\n"
                f'    -d \'{{"source":{{"id":"{info["source_id"]}"}},'
                f'"events":[{{"type":"page-view"}}]}}\'\n'
                "Ctrl-C stops everything.",
                flush=True,
            )
        return stack.watch()
    except ConfigurationError as exc:
        print(f"headwater up: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("headwater up: stopped before it was ready", file=sys.stderr)
        return 130
    finally:
        stack.stop()
