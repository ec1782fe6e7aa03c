"""Real broker and search endpoints for integration and end-to-end tests.

Two kinds of engines:

- ``apache``: Apache Kafka 4 (KRaft) and OpenSearch 2.19, what production runs, fetched
  from Maven Central and started on free loopback ports (``headwater.commands.engines``).
  The integration and end-to-end suites run on them.
- ``standins``: the pip-only stand-ins ``headwater up`` embeds by default (Tansu and
  osmem). Tests marked ``smoke`` also run on them, so the README's first command keeps
  working on a machine with nothing but Python.

``HEADWATER_TEST_ENGINES`` picks the main kind (``apache`` or ``standins``); by default
``apache`` where Java and Maven (or an already fetched cache) are present, else
``standins`` with a notice. Under CI (``CI`` set) the default is ``apache`` and missing
Java fails the run. ``HEADWATER_KAFKA`` / ``HEADWATER_SEARCH`` point the main kind at
engines that already run instead of starting new ones.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from headwater.commands.engines import KAFKA, OPENSEARCH
from headwater.commands.up_engines import APACHE, STANDINS, start_broker, start_search_server
from headwater.settings import Settings, load_settings


@dataclass(frozen=True)
class Endpoints:
    kind: str  # APACHE or STANDINS
    kafka: str
    search: str
    # the Elasticsearch client needs the test-only node class against osmem
    es_node_class: Any = None

    @property
    def standins(self) -> bool:
        return self.kind == STANDINS


def engines_cache() -> Path:
    return load_settings().engines_cache


def apache_available() -> str | None:
    """Why the Apache engines cannot start here, or None when they can."""
    if shutil.which("java") is None:
        return "no java on PATH (Debian: apt-get install -y openjdk-17-jre-headless)"
    cache = engines_cache()
    fetched = all(spec.fetched(cache) for spec in (KAFKA, OPENSEARCH))
    if not fetched and shutil.which("mvn") is None:
        return "no mvn on PATH to fetch the engines (Debian: apt-get install -y maven)"
    return None


def main_kind() -> str:
    """The engines the integration and end-to-end suites run on."""
    chosen = os.environ.get("HEADWATER_TEST_ENGINES", "").strip().lower()
    if chosen in (APACHE, STANDINS):
        return chosen
    if chosen:
        raise ValueError(f"HEADWATER_TEST_ENGINES must be apache or standins, not {chosen!r}")
    if os.environ.get("CI") or apache_available() is None:
        return APACHE
    return STANDINS


@contextmanager
def started_endpoints(kind: str, logs: Path, *, use_env: bool) -> Iterator[Endpoints]:
    """Endpoints of ``kind``: the ones in HEADWATER_KAFKA / HEADWATER_SEARCH when
    ``use_env`` and set, the others started here and stopped on exit."""
    from tests.support.es_compat import PlainMediaTypeNode

    kafka = os.environ.get("HEADWATER_KAFKA") if use_env else None
    search = os.environ.get("HEADWATER_SEARCH") if use_env else None
    with ExitStack() as stack:
        if not kafka:
            broker = start_broker(kind, logs, engines_cache(), logs / "kafka.log")
            stack.callback(broker.stop)
            kafka = broker.address
        node = None
        if not search:
            server = start_search_server(kind, logs, engines_cache(), logs / "search.log")
            stack.callback(server.stop)
            search = server.address
            node = None if kind == APACHE else PlainMediaTypeNode
        yield Endpoints(kind, kafka, search, node)


def unique_prefix() -> str:
    """Topic and index prefix of one test, so tests never see each other's data."""
    return "t" + uuid.uuid4().hex[:10]


def settings_for(endpoints: Endpoints, data_dir: Path, **overrides: Any) -> Settings:
    prefix = unique_prefix()
    values: dict[str, Any] = {
        "kafka": endpoints.kafka,
        "search": endpoints.search,
        "topic_prefix": prefix,
        "index_prefix": prefix,
        "data_dir": data_dir,
        "partitions": 3,
        # Tansu misreports end offsets of multi-record batches (see Settings); Kafka does not
        "worker_single_record_batches": endpoints.standins,
    }
    values.update(overrides)
    return load_settings(**values)


def elasticsearch_client_or_skip(endpoints: Endpoints) -> None:
    """The official Elasticsearch client talks to osmem (through PlainMediaTypeNode) and
    to Elasticsearch, not to OpenSearch: it sends ``compatible-with=9`` media types that
    OpenSearch answers with 406, and it checks the product header."""
    if endpoints.es_node_class is None and not endpoints.standins:
        pytest.skip(
            "the elasticsearch client needs an Elasticsearch node; these engines are "
            "OpenSearch (its runs on the stand-ins cover the client). No Elasticsearch engine: "
            "Maven Central has the 9.x server and transport-netty4 but not the reindex "
            "(_delete_by_query) and rest-root (GET /) modules; docs/operations.md"
        )
