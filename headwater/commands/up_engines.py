"""The broker and search server ``headwater up`` runs on (``--engines``).

- ``standins`` (the default): the pip-only embedded stand-ins, Tansu and osmem, in
  memory: each run starts empty.
- ``apache``: Apache Kafka and OpenSearch from Maven Central (Java 17 and Maven, see
  :mod:`headwater.commands.engines`), with their data under ``<data dir>/engines``: topics,
  indices and so the worker's state survive a stop and a start.

Either way ``HEADWATER_KAFKA`` / ``HEADWATER_SEARCH``, when set, are used instead of
starting that engine.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from headwater.commands.embedded import ManagedProcess, free_port, start_osmem, start_tansu
from headwater.commands.engines import KAFKA, OPENSEARCH, fetch, start_kafka, start_opensearch
from headwater.commands.engines.fetch import java_binary
from headwater.commands.engines.run import RunningEngine, kafka_cluster_id
from headwater.commands.local_state import EMBEDDED_BROKER
from headwater.settings import Settings

__all__ = ["APACHE", "ENGINES", "STANDINS", "UpEngines", "start_broker", "start_search_server"]

STANDINS = "standins"
APACHE = "apache"
ENGINES = (STANDINS, APACHE)


def start_broker(
    kind: str, data: Path, cache: Path, log: Path, port: int | None = None
) -> RunningEngine:
    """A broker of ``kind`` on ``port`` (a free one if None): Apache Kafka with its data
    under ``data`` (kept across starts), or Tansu in memory (``data`` unused)."""
    if kind == APACHE:
        return start_kafka(data, cache, port=port, log_path=log)
    port = port or free_port()
    return RunningEngine("tansu", f"127.0.0.1:{port}", start_tansu(port, log))


def start_search_server(
    kind: str, data: Path, cache: Path, log: Path, port: int | None = None
) -> RunningEngine:
    """A search server of ``kind``: OpenSearch with its data under ``data``, or osmem."""
    if kind == APACHE:
        return start_opensearch(data, cache, port=port, log_path=log)
    port = port or free_port()
    return RunningEngine("osmem", f"http://127.0.0.1:{port}", start_osmem(port, log))


@dataclass
class UpEngines:
    """What ``up`` runs its broker and search server on, and starts of them."""

    choice: str  # one of ENGINES
    settings: Settings
    data_dir: Path  # up's data dir; the Apache engines keep theirs in data_dir/engines

    @property
    def apache(self) -> bool:
        return self.choice == APACHE

    @property
    def engines_dir(self) -> Path:
        return self.data_dir / "engines"

    def check(self) -> None:
        """Before anything starts: Java 17+ and the engines' jars (fetched now, with
        Maven, the first time); a one-line ConfigurationError says what to install."""
        if not (self.apache and self.starts_any):
            return
        java_binary()
        cache = self.settings.engines_cache
        wanted = ((KAFKA, self.settings.kafka), (OPENSEARCH, self.settings.search))
        needed = [spec for spec, configured in wanted if not configured]
        missing = [spec for spec in needed if not spec.fetched(cache)]
        if missing:
            names = " and ".join(f"{spec.name} {spec.version}" for spec in missing)
            print(
                f"headwater up: fetching {names} from Maven Central into {cache} "
                "(once, about 90 MB)",
                file=sys.stderr,
                flush=True,
            )
        for spec in needed:
            fetch(spec, cache)  # also compiles OpenSearch's launcher when its source changed

    def start_kafka(
        self, port: int, log: Callable[[str], Path], started: Callable[[ManagedProcess], None]
    ) -> tuple[str, str]:
        """The broker's bootstrap address, and the name of its log for
        :func:`~headwater.commands.local_state.forget_state_of_lost_log`."""
        if self.settings.kafka:
            return self.settings.kafka, self.settings.kafka
        cache = self.settings.engines_cache
        kafka = start_broker(self.choice, self.engines_dir, cache, log("kafka"), port)
        started(kafka.process)
        if not self.apache:
            return kafka.address, EMBEDDED_BROKER
        # named by its cluster id: the same log on any port, a new one once deleted
        return kafka.address, f"Apache Kafka, cluster {kafka_cluster_id(self.engines_dir)}"

    def start_search(
        self, port: int, log: Callable[[str], Path], started: Callable[[ManagedProcess], None]
    ) -> str:
        """The search server's URL."""
        if self.settings.search:
            return self.settings.search
        cache = self.settings.engines_cache
        search = start_search_server(self.choice, self.engines_dir, cache, log("search"), port)
        started(search.process)
        return search.address

    @property
    def starts_any(self) -> bool:
        return not (self.settings.kafka and self.settings.search)

    def summary(self) -> dict[str, str | None]:
        """For ``up --json``: the engines, and where their data lives (None: in memory)."""
        kept = self.apache and self.starts_any
        return {"engines": self.choice, "engines_data": str(self.engines_dir) if kept else None}

    def describe(self) -> str:
        """The summary's ``engines`` line: what this run started, and whether it keeps data."""
        started = []
        if not self.settings.kafka:
            started.append(f"Apache Kafka {KAFKA.version}" if self.apache else "Tansu")
        if not self.settings.search:
            started.append(f"OpenSearch {OPENSEARCH.version}" if self.apache else "osmem")
        if not started:
            return "none started (HEADWATER_KAFKA and HEADWATER_SEARCH are set)"
        names = " and ".join(started)
        if self.apache:
            return f"{names}; their data is kept in {self.engines_dir}"
        return f"{names} (embedded stand-ins), in memory: stopping loses their data"
