"""The engines production runs, for local use and tests: Apache Kafka (KRaft) and
OpenSearch, fetched from Maven Central and started on loopback."""

from headwater.commands.engines.fetch import KAFKA, OPENSEARCH, EngineSpec, fetch
from headwater.commands.engines.run import RunningEngine, start_kafka, start_opensearch

__all__ = [
    "KAFKA",
    "OPENSEARCH",
    "EngineSpec",
    "RunningEngine",
    "fetch",
    "start_kafka",
    "start_opensearch",
]
