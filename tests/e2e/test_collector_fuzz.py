"""Schemathesis against the collector's own OpenAPI document: whatever it generates,
valid or not, the collector never answers 5xx and keeps running.

The suite runs 400 requests; ``HEADWATER_FUZZ_REQUESTS=10000`` runs the full count
(the issue's bar), which takes minutes.
"""

from __future__ import annotations

import base64
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from headwater.commands.embedded import ManagedProcess, free_port, start_process, wait_http
from headwater.commands.init import run_init
from tests.support.processes import worker_env
from tests.support.services import Endpoints, settings_for

pytestmark = [pytest.mark.e2e]

REQUESTS = int(os.environ.get("HEADWATER_FUZZ_REQUESTS", "400"))


@dataclass
class Target:
    url: str
    source_id: str
    write_key: str
    process: ManagedProcess


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def target(
    endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Target]:
    tmp = tmp_path_factory.mktemp("fuzz")
    config = settings_for(endpoints, tmp)
    init = await run_init(config)
    port = free_port()
    process = start_process(
        "collector",
        [sys.executable, "-m", "headwater", "collector", "--port", str(port)],
        log_path=tmp / "collector.log",
        env=worker_env(config),
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/health/ready", 60, process)
        yield Target(url, init.sources[config.env], init.write_keys[config.env], process)
    finally:
        process.stop()


def test_generated_requests_never_get_a_5xx(target: Target) -> None:
    schema = schemathesis.openapi.from_url(f"{target.url}/openapi.json")
    auth = "Basic " + base64.b64encode(f"{target.write_key}:".encode()).decode()
    # half the cases name the real source and key, so they get past authentication
    known = {"source_id": target.source_id}
    strategy = st.one_of(
        schema.as_strategy(GenerationMode.POSITIVE, path_parameters=known),
        schema.as_strategy(GenerationMode.NEGATIVE),
        schema.as_strategy(GenerationMode.POSITIVE),
    )
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []

    @settings(
        max_examples=REQUESTS,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, authenticated=st.booleans())
    def send(case: schemathesis.Case, authenticated: bool) -> None:
        headers = {"authorization": auth} if authenticated else None
        response = case.call(base_url=target.url, headers=headers, timeout=10)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            server_errors.append(f"{case.method} {case.formatted_path}: {response.text[:200]}")

    send()

    print(f"fuzzed requests by status: {dict(sorted(statuses.items()))}")
    assert server_errors == []
    assert sum(statuses.values()) >= REQUESTS * 0.9  # the run really sent its requests
    assert statuses[200] > 0  # and some got through to Kafka
    assert target.process.running
