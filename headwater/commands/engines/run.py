"""Starting Apache Kafka (KRaft, one node that is broker and controller) and OpenSearch
(one node) from their fetched jars: loopback only, small heaps, data under a data dir that
survives a restart of the engine."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from headwater.commands.embedded import (
    ManagedProcess,
    free_port,
    start_process,
    wait_http,
    wait_port,
)
from headwater.commands.engines.fetch import KAFKA, OPENSEARCH, fetch, java_binary
from headwater.errors import ConfigurationError

__all__ = [
    "RunningEngine",
    "kafka_cluster_id",
    "new_cluster_id",
    "start_kafka",
    "start_opensearch",
]

KAFKA_HEAP = ("-Xms256m", "-Xmx512m")
SEARCH_HEAP = ("-Xms512m", "-Xmx1g")
STOP_TIMEOUT = 60.0  # a clean stop flushes the log and the indices: let it finish
_LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d{ISO8601}] %p %c{1}: %m%n
rootLogger.level = {level}
rootLogger.appenderRef.out.ref = out
"""


@dataclass
class RunningEngine:
    name: str
    address: str  # host:port for Kafka, a URL for OpenSearch
    process: ManagedProcess

    def stop(self) -> int | None:
        return self.process.stop()


def _log_config(home: Path, level: str) -> Path:
    path = home / "log4j2.properties"
    path.write_text(_LOG4J2.replace("{level}", level))
    return path


def _kafka_properties(log_dirs: Path, port: int, controller_port: int) -> str:
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={log_dirs}",
            # one node: every internal topic has one replica
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            # no 3 s wait for more members before the first rebalance of a group
            "group.initial.rebalance.delay.ms=0",
            "",
        ]
    )


@contextmanager
def _stopped_unless_ready(process: ManagedProcess) -> Iterator[None]:
    """Stop (and wait for) an engine that is not ready in time or whose start is
    interrupted (Ctrl-C): the caller never got it, so nobody else would."""
    try:
        yield
    except BaseException:
        process.stop()
        raise


def new_cluster_id(draw: Callable[[], bytes] = lambda: uuid.uuid4().bytes) -> str:
    """A random KRaft cluster id: 16 bytes in URL-safe base64, never one that begins
    with ``-``, as Kafka's own ``Uuid.randomUuid`` (``kafka-storage format -t -x...``
    reads such an id as an option and fails: one start in 64 did)."""
    while True:
        text = base64.urlsafe_b64encode(draw()).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def kafka_cluster_id(data_dir: Path) -> str | None:
    """The cluster id of the Kafka log under ``data_dir`` (None before its first start):
    names that log, whatever port the broker listens on."""
    meta = data_dir / "kafka" / "logs" / "meta.properties"
    if not meta.exists():
        return None
    for line in meta.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "cluster.id":
            return value.strip()
    return None


def start_kafka(
    data_dir: Path, cache: Path, *, port: int | None = None, log_path: Path | None = None
) -> RunningEngine:
    """A KRaft node with its log under ``data_dir/kafka`` (formatted on first start)."""
    home = fetch(KAFKA, cache)
    java = java_binary()
    state = data_dir / "kafka"
    log_dirs = state / "logs"
    state.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    properties = state / "server.properties"
    # The quorum is static (controller.quorum.voters, kraft.version 0): the controller's
    # address is read from this file on every start and not kept in the log, so a new
    # free port each start does not stop the log from being used again.
    properties.write_text(_kafka_properties(log_dirs, port, free_port()))
    classpath = ["-cp", f"{home / 'lib'}/*"]
    logging = f"-Dlog4j2.configurationFile={_log_config(state, 'INFO')}"
    if not (log_dirs / "meta.properties").exists():
        cluster_id = new_cluster_id()
        formatted = start_process(
            "kafka storage format",
            [
                java,
                logging,
                *classpath,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(properties),
            ],
            log_path=log_path,
        )
        if formatted.popen.wait(120) != 0:
            raise ConfigurationError(f"formatting Kafka's log dir failed; see {log_path}")
    process = start_process(
        "kafka (apache)",
        [
            java,
            *KAFKA_HEAP,
            "-Djava.awt.headless=true",
            logging,
            *classpath,
            "kafka.Kafka",
            str(properties),
        ],
        log_path=log_path,
        stop_timeout=STOP_TIMEOUT,
    )
    with _stopped_unless_ready(process):
        wait_port("127.0.0.1", port, 120, process)
    return RunningEngine("kafka", f"127.0.0.1:{port}", process)


def start_opensearch(
    data_dir: Path, cache: Path, *, port: int | None = None, log_path: Path | None = None
) -> RunningEngine:
    """A single-node OpenSearch with its indices under ``data_dir/opensearch``."""
    home = fetch(OPENSEARCH, cache)
    java = java_binary()
    state = data_dir / "opensearch"
    (state / "config").mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    process = start_process(
        "search (opensearch)",
        [
            java,
            *SEARCH_HEAP,
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={_log_config(state, 'INFO')}",
            "-cp",
            f"{home / 'classes'}:{home / 'lib'}/*",
            "HeadwaterSearchNode",
            str(state),
            str(port),
            str(free_port()),
        ],
        log_path=log_path,
        stop_timeout=STOP_TIMEOUT,
    )
    url = f"http://127.0.0.1:{port}"
    with _stopped_unless_ready(process):
        wait_http(f"{url}/_cluster/health?wait_for_status=yellow&timeout=1s", 180, process)
    return RunningEngine("opensearch", url, process)
