"""Kafka stops answering while 1,000 MQTT and 1,000 AMQP messages are published to the
``headwater bridge`` processes: they hold back (nothing more acknowledged to Kafka's
side, at most their window taken from the channel), are killed (``kill -9``) with
messages in hand, and replaced; once Kafka answers again every message is stored
exactly once, on its profile. A message acknowledged to its channel before Kafka had it
would be lost here; one stored under a new id would be counted twice.

The second test stops the broker for real (SIGTERM, the JVM gone, connections refused)
and starts it again on the same data, while the same 1,000 + 1,000 are published; an
SMTP bridge meanwhile answers 451 (try later), and the sender's retry is stored once;
an IMAP bridge takes what arrives and marks none of it seen until Kafka has it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
import orjson
import pytest
from pydantic import SecretStr

from headwater.adapters.search import connect_search
from headwater.adapters.secrets import secret_box
from headwater.commands.embedded import ManagedProcess, free_port, wait_http
from headwater.commands.init import run_init
from headwater.core.ports.search import SearchStore
from headwater.core.tenancy import events_alias, profiles_alias
from headwater.settings import Settings
from tests.support.bridges import (
    amqp_bridge,
    append_mail,
    connected,
    imap_bridge,
    imap_flags,
    mqtt_bridge,
    publish_amqp,
    publish_bridge,
    publish_mqtt,
    running_bridges,
)
from tests.support.channels import AmqpServer, ImapServer, MqttServer
from tests.support.own_engines import OwnEngine, own_broker
from tests.support.polling import eventually
from tests.support.processes import start_bridge, start_worker
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e

MESSAGES = 1000  # per channel
BEFORE = 200  # of them published before Kafka stops answering
PROFILES = 10
WINDOW = 100  # HEADWATER_BRIDGE_MAX_IN_FLIGHT (MQTT)
PREFETCH = 50  # the AMQP bridge's


def _body(channel: str, n: int) -> bytes:
    return orjson.dumps({"id": f"{channel}-{n}", "user": f"{channel}-u{n % PROFILES}", "n": n})


async def _publish(mqtt: MqttServer, amqp: AmqpServer, topic: str, key: str, ns: range) -> None:
    await asyncio.gather(
        publish_mqtt(mqtt, [(topic, _body("mqtt", n)) for n in ns]),
        publish_amqp(amqp, "amq.topic", [(key, _body("amqp", n), {}) for n in ns]),
    )


class Bridges:
    """The two bridge processes, by channel, and their health endpoints."""

    def __init__(self, settings: Settings, logs: Path, ids: dict[str, str]) -> None:
        self.settings, self.logs, self.ids = settings, logs, ids
        self.processes: dict[str, ManagedProcess] = {}
        self.ports = {kind: free_port() for kind in ids}
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        for kind in self.ids:
            log = self.logs / f"{kind}-bridge-{self.runs}.log"
            self.processes[kind] = start_bridge(
                self.settings, kind, log, self.ports[kind], HEADWATER_CONFIG_WAIT="1",
                HEADWATER_BRIDGE_MAX_IN_FLIGHT=str(WINDOW), HEADWATER_PRODUCE_TIMEOUT="2",
                HEADWATER_STAGE_MAX_BACKOFF="1", HEADWATER_BRIDGE_MAX_BACKOFF="1",
            )  # fmt: skip

    def kill(self) -> None:
        for process in self.processes.values():
            process.kill()

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()

    async def stats(self) -> dict[str, dict[str, Any]]:
        found = {}
        async with httpx.AsyncClient(timeout=5) as http:
            for kind, bridge_id in self.ids.items():
                url = f"http://127.0.0.1:{self.ports[kind]}/health"
                found[kind] = (await http.get(url)).json()["bridges"].get(bridge_id, {})
        return found

    async def connected(self) -> bool:
        for kind, process in self.processes.items():
            await asyncio.to_thread(
                wait_http, f"http://127.0.0.1:{self.ports[kind]}/health", 60, process
            )
        return all(s.get("state") == "connected" for s in (await self.stats()).values())


@pytest.fixture(scope="module")
def broker(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnEngine]:
    """The module's own broker, that its tests pause or stop (one start for both; each
    test has topics of its own on it)."""
    if endpoints.standins:
        pytest.skip("the stand-in broker: SIGSTOP is not what this checks; a restart loses all")
    with own_broker(endpoints.kind, tmp_path_factory.mktemp("broker")) as engine:
        yield engine


async def test_bridges_store_every_message_once_across_a_kafka_outage_and_a_crash(
    endpoints: Endpoints, broker: OwnEngine, mqtt: MqttServer, amqp: AmqpServer, tmp_path: Path
) -> None:
    settings = settings_for(endpoints, tmp_path, kafka=broker.address)
    await run_init(settings)
    topic, key, ids = await _configure(settings, mqtt, amqp)
    worker = start_worker(settings, tmp_path / "worker.log", HEADWATER_STAGE_MAX_BACKOFF="1")
    bridges = Bridges(settings, tmp_path, ids)
    bridges.start()
    store = await connect_search(settings)
    try:
        t0 = time.monotonic()
        await eventually(bridges.connected, timeout=60, every=0.3)
        await eventually(lambda: _logged(worker, "Worker ready"), timeout=90)
        t_ready = time.monotonic()
        await _publish(mqtt, amqp, topic, key, range(BEFORE))
        await eventually(lambda: _stored(store, settings, 10), timeout=60, every=0.3)
        # Kafka hangs (SIGSTOP: connections stay open, nothing answers; the next test
        # stops it for real): sends time out and are retried
        await asyncio.to_thread(broker.pause)  # with messages on their way
        await _publish(mqtt, amqp, topic, key, range(BEFORE, MESSAGES))
        await asyncio.sleep(3)  # past the produce deadline: sends fail and retry
        held = await bridges.stats()
        assert held["mqtt"]["in_flight"] <= WINDOW and held["amqp"]["in_flight"] <= PREFETCH
        assert held["mqtt"]["in_flight"] > 0 and held["amqp"]["in_flight"] > 0
        await asyncio.sleep(1)
        again = await bridges.stats()
        assert [s["delivered"] for s in again.values()] == [
            s["delivered"] for s in held.values()
        ]  # nothing more reached Kafka
        bridges.kill()  # with messages taken and not acknowledged
        bridges.start()
        broker.resume()
        t_resumed = time.monotonic()
        await _all_stored(store, settings, ids)
        t_all = time.monotonic()
        await _counted_once_per_profile(store, settings)
        print(
            f"bridge outage: ready {t_ready - t0:.1f}s; held {held['mqtt']['in_flight']} "
            f"MQTT and {held['amqp']['in_flight']} AMQP messages when killed; all "
            f"stored {t_all - t_resumed:.1f}s after Kafka resumed"
        )
        assert worker.running
    finally:
        bridges.stop()
        worker.stop()
        await store.close()


async def test_bridges_store_every_message_once_across_a_kafka_stop_and_start(
    endpoints: Endpoints,
    broker: OwnEngine,
    mqtt: MqttServer,
    amqp: AmqpServer,
    imap: ImapServer,
    tmp_path: Path,
) -> None:
    settings = settings_for(endpoints, tmp_path, kafka=broker.address)
    await run_init(settings)
    topic, key, ids = await _configure(settings, mqtt, amqp)
    mail = Mail(settings, imap)
    await mail.configure()
    bridges = Bridges(settings, tmp_path, ids)
    bridges.start()
    store = await connect_search(settings)
    worker: ManagedProcess | None = None
    try:
        async with (
            running_bridges(mail.settings, "smtp") as smtp_process,
            running_bridges(mail.settings, "imap") as imap_process,
        ):
            await connected(smtp_process, mail.smtp_id)
            await connected(imap_process, mail.imap_id)
            t0 = time.monotonic()
            await eventually(bridges.connected, timeout=60, every=0.3)
            await _publish(mqtt, amqp, topic, key, range(BEFORE))

            async def some_delivered() -> bool:
                return all(s.get("delivered", 0) > 0 for s in (await bridges.stats()).values())

            await eventually(some_delivered, timeout=30, every=0.3)
            await asyncio.to_thread(broker.stop)  # SIGTERM: the JVM exits, ports close
            t_stopped = time.monotonic()
            await _publish(mqtt, amqp, topic, key, range(BEFORE, MESSAGES))
            await append_mail(imap, mail.folder, [mail.raw(f"imap-{n}") for n in range(5)])
            await asyncio.sleep(3)  # past the produce deadline: sends fail and retry
            assert await mail.send() == 451  # not stored in time: the sender tries later
            # the IMAP bridge took what the sender let it (it waits for Kafka) and marks
            # nothing seen until Kafka has it
            assert imap_process.stats[mail.imap_id].in_flight >= 1
            assert not any("Seen" in f for f in await imap_flags(imap, mail.folder))
            held = await bridges.stats()
            assert all(s["in_flight"] > 0 for s in held.values()), held
            assert held["mqtt"]["in_flight"] <= WINDOW and held["amqp"]["in_flight"] <= PREFETCH
            await asyncio.to_thread(broker.start)  # the same port and data
            t_started = time.monotonic()
            worker = start_worker(
                settings, tmp_path / "worker.log", HEADWATER_STAGE_MAX_BACKOFF="1"
            )

            # the retry, as a mail server retries after a 451: stored once Kafka takes it
            # (once: the same Message-ID). Kafka answers "unknown partition" for a while
            # after its start, which on a loaded machine outlasts one 2 s attempt.
            async def accepted() -> bool:
                return await mail.send() == 250

            await eventually(accepted, timeout=60, every=0.5)
            await _all_stored(store, settings, ids)
            t_all = time.monotonic()
            await _counted_once_per_profile(store, settings)
            await mail.stored(store, mail.smtp_id, 1)
            await mail.stored(store, mail.imap_id, 5)
            flags = await imap_flags(imap, mail.folder)
            assert len(flags) == 5 and all("\\Seen" in f for f in flags)
            print(
                f"bridge kafka stop: {t_stopped - t0:.1f}s to the stop; stopped for "
                f"{t_started - t_stopped:.1f}s holding {held['mqtt']['in_flight']} MQTT and "
                f"{held['amqp']['in_flight']} AMQP messages; all stored {t_all - t_started:.1f}s "
                "after it started again"
            )
            assert all(p.running for p in bridges.processes.values())  # no restart needed
    finally:
        bridges.stop()
        if worker is not None:
            worker.stop()
        await store.close()


class Mail:
    """An SMTP and an IMAP bridge of the test, in staging (apart from the counts of
    production), run in the test's loop; the SMTP one answers 451 after 2 s without
    Kafka's ack."""

    def __init__(self, settings: Settings, imap: ImapServer) -> None:
        update = {
            "env": "staging",
            "bridge_smtp_ack_timeout": 2.0,
            "secrets_key": SecretStr("bridge-outage-tests-key-0123456789abcdef"),
        }
        self.settings = settings.model_copy(update=update)
        self.imap = imap
        self.folder = f"{settings.topic_prefix}-outage"
        self.smtp_id, self.imap_id, self.port = str(uuid.uuid4()), str(uuid.uuid4()), free_port()

    @staticmethod
    def raw(message_id: str) -> bytes:
        return (
            f"From: ann@example.com\r\nTo: orders@shop.test\r\nSubject: order\r\n"
            f"Message-ID: <{message_id}@example.com>\r\n\r\nTwo coffees.\r\n"
        ).encode()

    async def configure(self) -> None:
        mapping = {"event_type": "value:mail", "profile_id": "json:sender_id"}
        smtp = {
            "channel": "smtp",
            "connection": {"url": f"smtp://127.0.0.1:{self.port}"},
            "subscription": {},
            "mapping": mapping,
        }
        await publish_bridge(self.settings, self.smtp_id, smtp)
        password = secret_box(self.settings).seal(self.imap.password)
        await append_mail(self.imap, self.folder, [])
        imap = imap_bridge(self.imap, password, self.folder, **mapping)
        await publish_bridge(self.settings, self.imap_id, imap)

    async def send(self) -> int:
        """The SMTP code of the final answer to DATA."""
        try:
            await aiosmtplib.send(
                self.raw("smtp-1"),
                sender="ann@example.com",
                recipients=["orders@shop.test"],
                hostname="127.0.0.1",
                port=self.port,
                timeout=30,
            )
        except aiosmtplib.SMTPResponseException as exc:
            return exc.code
        return 250

    async def stored(self, store: SearchStore, bridge_id: str, count: int) -> None:
        """``count`` events of ``bridge_id`` in search, and never more."""
        alias = events_alias(self.settings.index_prefix, "default", "staging")
        query = {"term": {"source.id": bridge_id}}

        async def stored() -> int:
            await store.refresh(alias)
            hits = (await store.search(alias, query=query, size=count + 10))["hits"]["hits"]
            return len(hits) if len(hits) >= count else 0

        assert await eventually(stored, timeout=30, every=0.3) == count


async def _configure(
    settings: Settings, mqtt: MqttServer, amqp: AmqpServer
) -> tuple[str, str, dict[str, str]]:
    """An MQTT and an AMQP bridge of the test: (MQTT topic, AMQP routing key, ids)."""
    prefix = settings.topic_prefix
    topic, key = f"{prefix}/outage", f"{prefix}.outage"
    mapping = {"event_type": "value:tick", "event_id": ["json:id"], "profile_id": "json:user"}
    ids = {"mqtt": str(uuid.uuid4()), "amqp": str(uuid.uuid4())}
    await publish_bridge(settings, ids["mqtt"], mqtt_bridge(mqtt, [topic], **mapping))
    amqp_config = amqp_bridge(amqp, f"{prefix}-outage", [f"amq.topic:{key}"], **mapping)
    amqp_config["subscription"]["prefetch"] = PREFETCH
    await publish_bridge(settings, ids["amqp"], amqp_config)
    return topic, key, ids


async def _logged(process: ManagedProcess, text: str) -> bool:
    return text in process.log_text()


async def _stored(store: SearchStore, settings: Settings, count: int) -> bool:
    alias = events_alias(settings.index_prefix, "default", "production")
    await store.refresh(alias)
    return await store.count(alias) >= count


async def _all_stored(store: SearchStore, settings: Settings, ids: dict[str, str]) -> None:
    alias = events_alias(settings.index_prefix, "default", "production")
    wanted = {f"{channel}-{n}" for channel in ids for n in range(MESSAGES)}
    try:
        await eventually(lambda: _stored(store, settings, len(wanted)), timeout=120, every=0.5)
    except AssertionError:
        raise AssertionError(f"{await store.count(alias)} of {len(wanted)} stored") from None
    found = await store.search(alias, size=len(wanted) + 100)
    names = Counter(h["_source"]["properties"]["id"] for h in found["hits"]["hits"])
    assert set(names) == wanted
    assert max(names.values()) == 1  # a redelivery was the same event, never another
    assert {h["_source"]["source"]["id"] for h in found["hits"]["hits"]} == set(ids.values())


async def _counted_once_per_profile(store: SearchStore, settings: Settings) -> None:
    alias = profiles_alias(settings.index_prefix, "default", "production")
    expected = {
        f"{c}-u{p}": MESSAGES // PROFILES for c in ("mqtt", "amqp") for p in range(PROFILES)
    }
    counted: dict[str, Any] = {}

    async def caught_up() -> bool:
        await store.refresh(alias)
        hits = (await store.search(alias, size=100))["hits"]["hits"]
        counted.clear()
        counted.update({h["_source"]["id"]: h["_source"]["stats"]["events"] for h in hits})
        return counted == expected

    try:
        await eventually(caught_up, timeout=60, every=0.5)
    except AssertionError:
        raise AssertionError(f"profile counters {counted}, expected {expected}") from None
