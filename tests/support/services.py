"""Real broker and search endpoints for integration and end-to-end tests.

``embedded``: HEADWATER_KAFKA / HEADWATER_SEARCH when set, else Tansu and osmem started
on free loopback ports. ``containers``: Apache Kafka and Elasticsearch through
testcontainers, when a Docker engine answers; otherwise the test is skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from headwater.infra.embedded import free_port, start_osmem, start_tansu
from headwater.settings import Settings, load_settings


@dataclass(frozen=True)
class Endpoints:
    kind: str  # "embedded" or "containers"
    kafka: str
    search: str
    # the Elasticsearch client needs the test-only node class against osmem
    es_node_class: Any = None


def docker_or_skip() -> None:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://") and not Path(host.removeprefix("unix://")).exists():
        pytest.skip(f"no Docker engine reachable for testcontainers: no socket at {host}")
    import docker

    try:
        client = docker.from_env()
    except Exception as exc:
        pytest.skip(f"no Docker engine reachable for testcontainers: {type(exc).__name__}")
    try:
        client.ping()
    except Exception as exc:
        pytest.skip(f"no Docker engine reachable for testcontainers: {type(exc).__name__}")
    finally:
        client.close()


@contextmanager
def embedded_endpoints(logs: Path) -> Iterator[Endpoints]:
    from tests.support.es_compat import PlainMediaTypeNode

    with ExitStack() as stack:
        kafka = os.environ.get("HEADWATER_KAFKA")
        search = os.environ.get("HEADWATER_SEARCH")
        if not kafka:
            port = free_port()
            stack.callback(start_tansu(port, logs / "kafka.log").stop)
            kafka = f"127.0.0.1:{port}"
        node = None
        if not search:
            port = free_port()
            stack.callback(start_osmem(port, logs / "search.log").stop)
            search = f"http://127.0.0.1:{port}"
            node = PlainMediaTypeNode
        yield Endpoints("embedded", kafka, search, node)


@contextmanager
def container_endpoints() -> Iterator[Endpoints]:
    docker_or_skip()
    from testcontainers.community.elasticsearch import ElasticSearchContainer
    from testcontainers.community.kafka import KafkaContainer

    with (
        KafkaContainer("apache/kafka:3.9.0") as kafka,
        ElasticSearchContainer("elasticsearch:8.17.0", mem_limit="1g") as es,
    ):
        url = f"http://{es.get_container_host_ip()}:{es.get_exposed_port(9200)}"
        yield Endpoints("containers", kafka.get_bootstrap_server(), url)


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
    }
    values.update(overrides)
    return load_settings(**values)
