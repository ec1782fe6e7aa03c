"""Real clients against the real collector and worker processes: Segment-protocol SDKs
from PyPI, analytics-next from npm in headless Chromium, and a browser page speaking
Tracardi's tracker protocol. What they send ends up as events and profiles in search."""

from __future__ import annotations

import asyncio
import re
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import rudderstack.analytics
import segment.analytics

from headwater.adapters.search import connect_search
from headwater.commands.embedded import free_port, start_process, wait_http
from headwater.commands.init import run_init
from headwater.core.ports.search import SearchStore
from headwater.core.segment import SegmentMessage
from headwater.core.segment_mapping import profile_id_for
from headwater.core.tenancy import events_alias, profiles_alias
from tests.e2e.browser_page import (
    ANALYTICS_NEXT_PAGE,
    TRACKER_PAGE,
    run_in_chromium,
    served_page,
)
from tests.support.polling import eventually
from tests.support.processes import start_worker, worker_env
from tests.support.services import Endpoints, settings_for

pytestmark = [pytest.mark.e2e, pytest.mark.smoke, pytest.mark.asyncio(loop_scope="session")]


@dataclass
class Stack:
    collector: str
    write_key: str
    search: SearchStore
    events: str
    profiles: str
    source_id: str


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def stack(
    endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """``headwater collector`` and ``headwater worker`` processes on fresh topics."""
    tmp = tmp_path_factory.mktemp("sdks")
    settings = settings_for(endpoints, tmp)
    init = await run_init(settings)
    port = free_port()
    collector = start_process(
        "collector",
        [sys.executable, "-m", "headwater", "collector", "--port", str(port)],
        log_path=tmp / "collector.log",
        env=worker_env(settings),
    )
    worker = start_worker(settings, tmp / "worker.log")
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/health/ready", 60, collector)
        yield Stack(
            url,
            init.write_keys[settings.env],
            store,
            events_alias(settings.index_prefix, "default", settings.env),
            profiles_alias(settings.index_prefix, "default", settings.env),
            init.sources[settings.env],
        )
    finally:
        await store.close()
        worker.stop()
        collector.stop()


def segment_client(host: str, write_key: str, on_error: Callable[..., None]) -> Any:
    """analytics-python: plain JSON, write key in the body and as HTTP Basic user."""
    return segment.analytics.Client(write_key, host=host, on_error=on_error, max_retries=1)


def rudder_client(host: str, write_key: str, on_error: Callable[..., None]) -> Any:
    """rudder-sdk-python: gzip bodies, HTTP Basic; identify's traits in context.traits."""
    return rudderstack.analytics.Client(write_key, host=host, on_error=on_error, max_retries=1)


def send_the_calls(client: Any, user: str, duplicate_id: str) -> None:
    """What an application does: track, identify (sent twice: a retry), page, alias.
    The SDK queues and sends from its own thread; flush waits until all are sent."""
    client.track(user_id=user, event="Order Completed", properties={"total": 42})
    for _ in range(2):
        client.identify(
            user_id=user, traits={"email": f"{user}@example.com"}, message_id=duplicate_id
        )
    client.page(user_id=user, category="Docs", name="Pricing", properties={"path": "/pricing"})
    client.alias(previous_id=f"old-{user}", user_id=user)
    client.flush()
    client.shutdown()


@pytest.mark.parametrize("make_client", [segment_client, rudder_client], ids=["segment", "rudder"])
async def test_sdk_calls_become_events_and_a_profile_in_search(
    stack: Stack, make_client: Callable[..., Any]
) -> None:
    user, duplicate_id = f"user-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    errors: list[Any] = []
    client = make_client(stack.collector, stack.write_key, lambda e, batch: errors.append(e))
    await asyncio.to_thread(send_the_calls, client, user, duplicate_id)
    assert errors == []

    profile_id = profile_id_for("default", SegmentMessage(userId=user))
    by_profile = {"term": {"profile.id": profile_id}}

    async def four_events() -> list[dict[str, Any]] | None:
        await stack.search.refresh(stack.events)
        hits = (await stack.search.search(stack.events, query=by_profile, size=20))["hits"]["hits"]
        return [h["_source"] for h in hits] if len(hits) >= 4 else None

    events = await eventually(four_events, timeout=90, every=0.5)

    async def profile_seen_all() -> dict[str, Any] | None:
        await stack.search.refresh(stack.profiles)
        document = await stack.search.get(stack.profiles, profile_id)
        return document if document and document["stats"]["events"] >= 4 else None

    profile = await eventually(profile_seen_all, timeout=30, every=0.5)

    assert sorted(e["type"] for e in events) == [
        "Order Completed",
        "alias",
        "identify",
        "page-view",
    ]
    by_type = {e["type"]: e for e in events}
    assert by_type["identify"]["properties"] == {"email": f"{user}@example.com"}
    assert by_type["page-view"]["properties"] == {
        "path": "/pricing",
        "name": "Pricing",
        "category": "Docs",
    }
    alias = by_type["alias"]["properties"]
    assert (alias["previousId"], alias["userId"]) == (f"old-{user}", user)
    assert len(alias["previous_profiles"]) == 2  # what old-{user} may stand for
    assert profile["data"]["identifier"]["customer_id"] == user
    assert all(e["options"]["user_id"] == user for e in events)
    assert all(e["channel"] == "segment" for e in events)
    assert profile["stats"]["events"] == 4  # the identify sent twice counted once


async def test_analytics_next_in_headless_chromium(stack: Stack, tmp_path: Path) -> None:
    """The browser SDK itself: page, track and identify from a page on loopback."""
    anonymous, user = f"anon-{uuid.uuid4().hex[:8]}", f"user-{uuid.uuid4().hex[:8]}"
    setup = {
        "writeKey": stack.write_key,
        "apiHost": stack.collector.removeprefix("http://") + "/v1",
        "anonymousId": anonymous,
        "userId": user,
        "email": f"{user}@example.com",
    }
    with served_page(tmp_path, ANALYTICS_NEXT_PAGE, setup) as page:
        dom = await asyncio.to_thread(run_in_chromium, page)
    assert 'data-done="yes"' in dom, dom[-500:]

    profile_id = profile_id_for("default", SegmentMessage(anonymousId=anonymous))
    by_profile = {"term": {"profile.id": profile_id}}

    async def three_events() -> list[dict[str, Any]] | None:
        await stack.search.refresh(stack.events)
        hits = (await stack.search.search(stack.events, query=by_profile, size=20))["hits"]["hits"]
        return [h["_source"] for h in hits] if len(hits) >= 3 else None

    events = await eventually(three_events, timeout=90, every=0.5)
    by_type = {e["type"]: e for e in events}
    assert sorted(by_type) == ["Plan Chosen", "identify", "page-view"]
    assert by_type["page-view"]["properties"]["name"] == "Pricing"
    assert by_type["page-view"]["properties"]["category"] == "Docs"
    assert by_type["page-view"]["context"]["page"]["path"] == "/page.html"
    assert by_type["Plan Chosen"]["properties"] == {"plan": "pro"}
    assert by_type["identify"]["properties"]["email"] == f"{user}@example.com"
    assert by_type["identify"]["options"]["user_id"] == user
    # the SDK reports HeadlessChrome as the user agent: kept, and flagged as a bot
    assert all(e["tags"] == ["bot"] for e in events)


async def test_tracker_protocol_page_gets_a_profile_id_it_keeps(
    stack: Stack, tmp_path: Path
) -> None:
    """A page speaking Tracardi's tracker protocol from another origin: CORS preflight
    (x-timestamp), a profile id back, stored and sent again on the next call."""
    setup = {"collector": stack.collector, "sourceId": stack.source_id}
    with served_page(tmp_path, TRACKER_PAGE, setup) as page:
        dom = await asyncio.to_thread(run_in_chromium, page)
    assert 'data-done="yes"' in dom, dom[-500:]
    profile_id = re.search(r'data-profile="([^"]+)"', dom)
    again = re.search(r'data-profile-again="([^"]+)"', dom)
    assert profile_id and again and profile_id.group(1) == again.group(1)

    async def profile_with_both() -> dict[str, Any] | None:
        await stack.search.refresh(stack.profiles)
        document = await stack.search.get(stack.profiles, profile_id.group(1))
        return document if document and document["stats"]["events"] >= 2 else None

    profile = await eventually(profile_with_both, timeout=90, every=0.5)
    assert profile["stats"]["by_type"] == {"page-view": 1, "add-to-cart": 1}
