"""Metrics and logs of the real processes (issue #19).

One run of a collector, a worker and the private API, with a write key, a user's
password (and a wrong one), access and refresh tokens, an API key, a destination
credential and the platform's own keys in use: a known number of events accepted,
refused (4xx) and dead-lettered. The counters each process serves on ``/metrics`` moved
by exactly those numbers, and no log line of any process holds one of the secrets
(every line is JSON).
A second test runs ``headwater collector --workers 2``: the listener adds up both.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.commands.embedded import ManagedProcess, free_port, start_process, wait_http
from headwater.commands.init import InitResult, run_init
from headwater.commands.stack import wait_log_line
from headwater.core.automation import FLOW_KIND, RULE_KIND
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer
from tests.support.config import publish_entries
from tests.support.http_sink import HttpSink, http_sink
from tests.support.metrics import Scrape, scrape
from tests.support.polling import eventually
from tests.support.processes import start_collector, start_worker, worker_env
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e

ADMIN = "ops@example.com"
PASSWORD = "admin-password-5f1c9e27"
WRONG_PASSWORD = "not-the-password-8d2b6a41"
CREDENTIAL = "crm-credential-4e7a1b9c3d"
PLATFORM = {
    "HEADWATER_API_SECRET": "api-signing-secret-0123456789abcdef0123",
    "HEADWATER_SECRETS_KEY": "secrets-key-for-metrics-0123456789abcdef",
    "HEADWATER_METRICS_TOKEN": "metrics-scrape-token-0123456789abcdef",
}
SCRAPE = {"authorization": f"Bearer {PLATFORM['HEADWATER_METRICS_TOKEN']}"}

# what the run sends through the collector
TRACKED = {"signed-up": 1, "bad-call": 2, "page-view": 3}  # one /track request each
SEGMENT = 1  # /v1/track with the write key
MALFORMED = 2  # /track bodies that are not JSON: 400
UNKNOWN_KEY = 1  # /v1/track with a write key nobody issued: 401
DEAD = TRACKED["bad-call"]  # their flow names a secret that is not set: dead-lettered


@dataclass
class Run:
    settings: Settings
    init: InitResult
    collector: Scrape
    worker: Scrape
    api: Scrape
    api_refused: list[int]
    logs: dict[str, str]
    secrets: list[str]


def _flows(sink: HttpSink) -> list[tuple[str, str, dict[str, Any]]]:
    def call(secret: str) -> dict[str, Any]:
        return {
            "nodes": [
                {"id": "start", "action": "start"},
                {
                    "id": "call",
                    "action": "http-call",
                    "config": {
                        "url": sink.url,
                        "headers": {"Authorization": f"Bearer {{{{secret.{secret}}}}}"},
                    },
                },
            ],
            "edges": [{"from": "start", "to": "call"}],
        }

    return [
        (FLOW_KIND, "to-crm", call("crm_token")),
        (RULE_KIND, "on-signup", {"flow_id": "to-crm", "event_type": "signed-up"}),
        (FLOW_KIND, "broken", call("never_set")),
        (RULE_KIND, "on-bad-call", {"flow_id": "broken", "event_type": "bad-call"}),
    ]


async def _publish(settings: Settings, entries: list[tuple[str, str, dict[str, Any]]]) -> None:
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    try:
        await publish_entries(ConfigPublisher(settings, AvroCodec.default(), producer), entries)
    finally:
        await producer.stop()


def _basic(key: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


async def _send_events(collector: str, init: InitResult) -> None:
    source = init.sources["production"]
    async with httpx.AsyncClient(base_url=collector, timeout=30) as http:
        for event_type, count in TRACKED.items():
            for _ in range(count):
                body = {"source": {"id": source}, "events": [{"type": event_type}]}
                assert (await http.post("/track", json=body)).status_code == 200
        segment = {"userId": "u-1", "event": "Ordered"}
        for _ in range(SEGMENT):
            answer = await http.post(
                "/v1/track", json=segment, headers=_basic(init.write_keys["production"])
            )
            assert answer.status_code == 200, answer.text
        for _ in range(MALFORMED):
            answer = await http.post(
                "/track", content=b"{not json", headers={"content-type": "application/json"}
            )
            assert answer.status_code == 400
        for _ in range(UNKNOWN_KEY):
            answer = await http.post("/v1/track", json=segment, headers=_basic("hw_" + "0" * 32))
            assert answer.status_code == 401


async def _use_the_api(api: str) -> tuple[list[str], list[int]]:
    """A refused and a good login, an API key made, a destination credential set with
    it; the tokens and key it got, and the statuses of /metrics without a token and with
    a user's."""
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:
        refused = await http.post(
            "/user/token", data={"username": ADMIN, "password": WRONG_PASSWORD}
        )
        assert refused.status_code == 401
        login = await http.post("/user/token", data={"username": ADMIN, "password": PASSWORD})
        assert login.status_code == 200, login.text
        tokens = [login.json()["access_token"], login.json()["refresh_token"]]
        auth = {"authorization": f"Bearer {tokens[0]}", "x-context": "production"}
        made = await http.post("/api-keys", json={"name": "ci", "role": "admin"}, headers=auth)
        assert made.status_code == 201, made.text
        tokens.append(made.json()["key"])
        as_key = {"x-api-key": tokens[-1], "x-context": "production"}
        stored = await http.put("/secrets/crm_token", json={"value": CREDENTIAL}, headers=as_key)
        assert stored.status_code == 200, stored.text
        statuses = [
            (await http.get("/metrics")).status_code,
            (
                await http.get("/metrics", headers={"authorization": f"Bearer {tokens[0]}"})
            ).status_code,
        ]
    return tokens, statuses


@pytest.fixture(scope="module")
async def run(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Run]:
    tmp = tmp_path_factory.mktemp("observability")
    settings = settings_for(endpoints, tmp, admin_password=PASSWORD)
    init = await run_init(settings, admin_email=ADMIN)
    ports = {name: free_port() for name in ("collector", "collector_metrics", "worker", "api")}
    env = {
        **PLATFORM,
        "HEADWATER_OUTBOUND_ALLOW": '["127.0.0.1"]',  # the sink listens on loopback
        "HEADWATER_LOG_LEVEL": "debug",  # the most lines, the most chances to leak
        "HEADWATER_WORKER_LAG_INTERVAL": "2",
        "HEADWATER_COLLECTOR_METRICS_PORT": str(ports["collector_metrics"]),
        "HEADWATER_WORKER_METRICS_PORT": str(ports["worker"]),
    }
    processes: list[ManagedProcess] = []
    async with http_sink([200]) as sink:
        try:
            api = start_process(
                "api",
                [sys.executable, "-m", "headwater", "api", "--port", str(ports["api"])],
                log_path=tmp / "api.log",
                env=worker_env(settings, **env),
            )
            processes.append(api)
            collector = start_collector(settings, tmp / "collector.log", ports["collector"], **env)
            processes.append(collector)
            api_url = f"http://127.0.0.1:{ports['api']}"
            collector_url = f"http://127.0.0.1:{ports['collector']}"
            wait_http(f"{api_url}/health", 60, api)
            wait_http(f"{collector_url}/health/ready", 60, collector)
            tokens, api_refused = await _use_the_api(api_url)
            await _publish(settings, _flows(sink))
            worker = start_worker(settings, tmp / "worker.log", **env)
            processes.append(worker)
            wait_log_line(worker, "Ready", 90)
            await _send_events(collector_url, init)

            worker_metrics = f"http://127.0.0.1:{ports['worker']}/metrics"

            async def settled() -> Scrape | None:
                found = await scrape(worker_metrics)
                done = (
                    found.value("headwater_stage_messages_in_total", stage="storage") > 0
                    and found.value("headwater_dead_letters_total") >= DEAD
                    and found.value("headwater_outbound_attempts_total") >= 1
                    and found.series("headwater_consumer_lag")
                    and found.value("headwater_consumer_lag") == 0
                )
                return found if done else None

            await eventually(settled, timeout=90, every=0.5)
            worker_scrape = await scrape(worker_metrics)
            collector_scrape = await scrape(
                f"http://127.0.0.1:{ports['collector_metrics']}/metrics"
            )
            api_scrape = await scrape(f"{api_url}/metrics", SCRAPE)
        finally:
            for process in reversed(processes):
                process.stop()
    yield Run(
        settings,
        init,
        collector_scrape,
        worker_scrape,
        api_scrape,
        api_refused,
        {process.name: process.log_text() for process in processes},
        [
            init.write_keys["production"],
            init.write_keys["staging"],
            PASSWORD,
            WRONG_PASSWORD,
            CREDENTIAL,
            *tokens,
            *PLATFORM.values(),
        ],
    )


async def test_counters_moved_by_exactly_what_was_sent_refused_and_dead_lettered(
    run: Run,
) -> None:
    accepted = sum(TRACKED.values())
    collector = run.collector
    assert collector.value("headwater_events_accepted_total", channel="track") == accepted
    assert collector.value("headwater_events_accepted_total", channel="segment") == SEGMENT
    rejected = "headwater_events_rejected_total"
    assert collector.value(rejected, channel="track", reason="invalid") == MALFORMED
    assert collector.value(rejected, channel="segment", reason="unauthorized") == UNKNOWN_KEY
    assert collector.value(rejected) == MALFORMED + UNKNOWN_KEY
    requests = "headwater_http_requests_total"
    assert collector.value(requests, route="/track", status="200") == accepted
    assert collector.value(requests, route="/track", status="400") == MALFORMED
    assert collector.value(requests, route="/v1/track", status="401") == UNKNOWN_KEY
    assert {s["service"] for s in collector.series(requests)} == {"collector"}
    intake = {"service": "collector", "topic": "intake"}
    assert collector.value("headwater_produce_seconds_count", **intake) == accepted + SEGMENT

    worker = run.worker
    messages = accepted + SEGMENT  # one intake batch per accepted request
    assert worker.value("headwater_stage_messages_in_total", stage="profile") == messages
    assert worker.value("headwater_stage_batch_seconds_count", stage="profile") >= 1
    assert worker.value("headwater_dead_letters_total") == DEAD
    assert worker.value("headwater_dead_letters_total", stage="destinations", reason="refused") == (
        DEAD
    )
    out = "headwater_stage_records_out_total"
    assert worker.value(out, stage="profile", topic="outbound") == TRACKED["signed-up"] + DEAD
    assert worker.value(out, stage="destinations", topic="deadletter") == DEAD
    assert worker.value("headwater_outbound_attempts_total", destination_kind="http") == 1
    assert worker.value("headwater_outbound_attempts_total", outcome="ok") == 1
    lag = worker.series("headwater_consumer_lag")
    intake_partitions = {s["partition"] for s in lag if s["topic"] == "intake"}
    assert intake_partitions == {str(p) for p in range(run.settings.partitions)}
    assert {s["stage"] for s in lag} == {"profile", "identity", "storage", "destinations"}

    api = run.api
    assert run.api_refused == [401, 401]  # no token; a user's token is no scrape token
    assert api.value(requests, service="api", route="/user/token", status="401") == 1
    assert api.value(requests, service="api", route="/user/token", status="200") == 1
    assert api.value(requests, service="api", route="/secrets/{name}", method="PUT") == 1


async def test_no_secret_in_any_log_line_and_every_line_is_json_with_ids(run: Run) -> None:
    assert set(run.logs) == {"api", "collector", "worker"}
    lines: dict[str, list[dict[str, Any]]] = {}
    for name, text in run.logs.items():
        for secret in run.secrets:
            assert secret not in text, f"{name} logged a secret ({secret[:6]}...)"
        lines[name] = [json.loads(line) for line in text.splitlines() if line.strip()]
        assert lines[name], name
    logins = [line for line in lines["api"] if line["message"].startswith("login")]
    assert len(logins) == 2 and all(len(line["request_id"]) == 32 for line in logins)
    dead = [line for line in lines["worker"] if "dead-lettering" in line["message"]]
    assert len(dead) == DEAD and all(line["message_id"].startswith("t") for line in dead)
    assert all("event_id" in line for line in dead)


def _sample_writers(where: Path) -> set[str]:
    """The processes with counter files in the multi-process sample directory there."""
    return {path.name.rsplit("_", 1)[1] for path in where.glob("headwater-metrics-*/counter_*")}


async def test_two_collector_processes_add_up_on_one_metrics_port(run: Run, tmp_path: Path) -> None:
    port, metrics = free_port(), free_port()
    env = worker_env(
        run.settings,
        HEADWATER_COLLECTOR_METRICS_PORT=str(metrics),
        TMPDIR=str(tmp_path),  # where the run's sample directory goes
    )
    collector = start_process(
        "collector",
        [sys.executable, "-m", "headwater", "collector", "--port", str(port), "--workers", "2"],
        log_path=tmp_path / "collector.log",
        env=env,
    )
    sent, malformed = 24, 3
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/health/ready", 60, collector)
        body = {"source": {"id": run.init.sources["production"]}, "events": [{"type": "t"}]}
        for _ in range(sent):  # a connection each, so both processes take some
            async with httpx.AsyncClient(base_url=url) as http:
                assert (await http.post("/track", json=body)).status_code == 200
        async with httpx.AsyncClient(base_url=url) as http:
            for _ in range(malformed):
                assert (await http.post("/track", content=b"[")).status_code in (400, 422)
        found = await scrape(f"http://127.0.0.1:{metrics}/metrics")
        writers = _sample_writers(tmp_path)
    finally:
        collector.stop()
    assert found.value("headwater_events_accepted_total", channel="track") == sent
    assert found.value("headwater_events_rejected_total", channel="track") == malformed
    assert found.value("headwater_http_requests_total", route="/track") == sent + malformed
    assert len(writers) == 2, writers  # both processes counted, in files of their own
    assert not _sample_writers(tmp_path)  # the run's directory is removed when it ends
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR") is None
