"""Integration fixtures: real broker and search server, one topic/index prefix per test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
import uvicorn

from headwater.adapters.search import connect_search
from headwater.collector import create_app
from headwater.commands.embedded import ManagedProcess, free_port
from headwater.commands.init import InitResult, run_init
from headwater.core.ports.search import SearchStore
from headwater.settings import Settings
from tests.support.processes import start_worker
from tests.support.services import Endpoints, elasticsearch_client_or_skip, settings_for

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(endpoints: Endpoints, tmp_path: Path) -> Settings:
    """Fresh topics and indices for one test."""
    return settings_for(endpoints, tmp_path)


@pytest.fixture(scope="module")
def shared_settings(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Topics and indices shared by the tests of one module (they use distinct ids)."""
    return settings_for(endpoints, tmp_path_factory.mktemp("shared"))


@pytest_asyncio.fixture(loop_scope="session")
async def search(settings: Settings, endpoints: Endpoints) -> AsyncIterator[SearchStore]:
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    yield store
    await store.close()


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def initialized(shared_settings: Settings) -> InitResult:
    return await run_init(shared_settings)


@asynccontextmanager
async def running_collector(settings: Settings) -> AsyncIterator[str]:
    """The real collector app served by uvicorn on a free loopback port."""
    port = free_port()
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def collector(shared_settings: Settings, initialized: InitResult) -> AsyncIterator[str]:
    async with running_collector(shared_settings) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session", params=["elasticsearch", "opensearch"])
async def store(
    request: pytest.FixtureRequest, settings: Settings, endpoints: Endpoints
) -> AsyncIterator[SearchStore]:
    """The search port through each Python client (the Elasticsearch client only where
    it can talk to the server)."""
    client = request.param
    if client == "elasticsearch":
        elasticsearch_client_or_skip(endpoints)
    node = endpoints.es_node_class if client == "elasticsearch" else None
    adapter = await connect_search(settings, client=client, node_class=node)
    yield adapter
    await adapter.close()


@pytest.fixture(scope="module")
def bridge_worker(
    shared_settings: Settings, initialized: InitResult, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ManagedProcess]:
    """A worker on the module's topics: what bridges put in intake reaches search."""
    process = start_worker(shared_settings, tmp_path_factory.mktemp("worker") / "worker.log")
    yield process
    process.stop()


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def shared_store(
    shared_settings: Settings, endpoints: Endpoints
) -> AsyncIterator[SearchStore]:
    adapter = await connect_search(shared_settings, node_class=endpoints.es_node_class)
    yield adapter
    await adapter.close()
