"""`headwater engines`: Apache Kafka and OpenSearch fetched from Maven Central and started
on loopback, talked to by the same clients Headwater uses, with data that survives a
restart of the engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from headwater.commands.engines import RunningEngine, start_kafka, start_opensearch
from headwater.settings import load_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cache() -> Path:
    return load_settings().engines_cache


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engines")


@pytest.fixture(scope="module")
def opensearch(cache: Path, data_dir: Path) -> Iterator[RunningEngine]:
    engine = start_opensearch(data_dir, cache, log_path=data_dir / "opensearch.log")
    yield engine
    engine.stop()


LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F"}  # 127.0.0.1, ::ffff:127.0.0.1


def _listening_on(pid: int) -> set[str]:
    """The addresses ``pid``'s listening TCP sockets are bound to, as /proc/net shows them."""
    inodes: set[str] = set()
    for link in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = link.readlink().name
        except FileNotFoundError:  # closed while we looked: the JVM opens and closes files
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    bound: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                bound.add(fields[1].rsplit(":", 1)[0])
    return bound


async def test_kafka_keeps_its_records_across_a_restart(cache: Path, data_dir: Path) -> None:
    kafka = start_kafka(data_dir, cache, log_path=data_dir / "kafka.log")
    try:
        listening = _listening_on(kafka.process.popen.pid)
        assert listening and listening <= LOOPBACK
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.address)
        await admin.start()
        try:
            await admin.create_topics([NewTopic("engines.test", 1, 1)])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka.address, enable_idempotence=True, acks="all"
        )
        await producer.start()
        try:
            for n in range(3):
                await producer.send_and_wait("engines.test", b"v%d" % n, key=b"k")
        finally:
            await producer.stop()
    finally:
        assert kafka.stop() is not None

    kafka = start_kafka(data_dir, cache, log_path=data_dir / "kafka.log")
    try:
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka.address)
        await consumer.start()
        try:
            partition = TopicPartition("engines.test", 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            records = await consumer.getmany(partition, timeout_ms=20_000, max_records=10)
        finally:
            await consumer.stop()
    finally:
        kafka.stop()
    assert [m.value for m in records[partition]] == [b"v0", b"v1", b"v2"]


def test_opensearch_indexes_searches_and_runs_painless(opensearch: RunningEngine) -> None:
    listening = _listening_on(opensearch.process.popen.pid)
    assert listening and listening <= LOOPBACK
    with httpx.Client(base_url=opensearch.address, timeout=30) as client:
        info = client.get("/").json()
        assert info["version"]["distribution"] == "opensearch"
        assert info["version"]["number"].startswith("2.19.")
        put = client.put(
            "/engines-test/_doc/1",
            params={"refresh": "true", "version": 5, "version_type": "external"},
            json={"type": "page-view", "n": 1},
        )
        assert put.status_code == 201, put.text
        older = client.put(
            "/engines-test/_doc/1",
            params={"version": 4, "version_type": "external"},
            json={"type": "stale", "n": 0},
        )
        assert older.status_code == 409  # external versioning: never overwrite a newer one
        script = {"script": {"lang": "painless", "source": "ctx._source.n += params.by"}}
        script["script"]["params"] = {"by": 2}
        updated = client.post("/engines-test/_update/1", params={"refresh": "true"}, json=script)
        assert updated.status_code == 200, updated.text
        hits = client.get("/engines-test/_search", params={"q": "type:page-view"}).json()
    assert [hit["_source"] for hit in hits["hits"]["hits"]] == [{"type": "page-view", "n": 3}]
