"""A page of 50 profiles in the console, against a tenant of 100,000 profiles: how long
from the click on Profiles to the 50 rows on screen (the issue asks for under 1 s)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from headwater.adapters.search import connect_search
from headwater.core.ports.search import BulkAction
from headwater.core.tenancy import generation_index, profiles_alias
from headwater.settings import Settings
from tests.e2e.conftest import UpStack, headwater_command, run_up
from tests.e2e.console_browser import (
    PASSWORD,
    Console,
    browser_page,
    go,
    log_in,
    need_built_console,
    shot,
)
from tests.support.services import Endpoints

pytestmark = pytest.mark.e2e

PROFILES = 100_000
CHUNK = 2_000  # a bulk body under 1 MB (the client warns above)
LIMIT_S = 1.0


@pytest.fixture(scope="module")
def stack(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpStack]:
    need_built_console()
    external = not endpoints.standins
    with run_up(tmp_path_factory.mktemp("scale"), endpoints if external else None) as up:
        yield up


async def _fill(settings: Settings, tenant: str) -> None:
    store = await connect_search(settings)
    alias = profiles_alias(settings.index_prefix, tenant, "production")
    index = generation_index(alias)
    try:
        await store.ensure_index(index, alias)
        for start in range(0, PROFILES, CHUNK):
            actions = [
                BulkAction(
                    index,
                    f"p{n:06d}",
                    {
                        "id": f"p{n:06d}",
                        "tenant": tenant,
                        "env": "production",
                        "ids": [f"p{n:06d}"],
                        "traits": {"plan": "pro" if n % 3 else "free"},
                        "data": {"contact": {"email": f"user{n}@example.com"}},
                        "stats": {"events": n % 50, "visits": n % 7},
                    },
                    op="index",
                )
                for n in range(start, min(start + CHUNK, PROFILES))
            ]
            assert (await store.bulk(actions)).written == len(actions)
        await store.refresh(alias)
    finally:
        await store.close()


async def _drop(settings: Settings, tenant: str) -> None:
    store = await connect_search(settings)
    try:
        await store.delete_indices(await store.list_indices(f"{settings.index_prefix}-{tenant}-*"))
    finally:
        await store.close()


def test_a_page_of_50_profiles_out_of_100000(stack: UpStack, tmp_path: Path) -> None:
    info = stack.info
    tenant = f"scale{uuid.uuid4().hex[:6]}"
    email = f"admin@{tenant}.example"
    headwater_command(
        info,
        *("tenant", "create", tenant, "--admin-email", email),
        settings={
            "HEADWATER_DATA_DIR": str(stack.data_dir),
            "HEADWATER_ADMIN_PASSWORD": PASSWORD,
        },
        timeout=180,
    )
    settings = Settings(kafka=info["kafka"], search=info["search"])
    asyncio.run(_fill(settings, tenant))
    try:
        console = Console(info["api"], info["collector"], "", {})
        with browser_page() as page:
            log_in(page, console, email)
            rows = page.get_by_role("table", name="profiles").locator("tbody tr")
            timings = []
            for _ in range(3):  # the first includes the engine's cold caches
                go(page, "Dashboard")
                page.get_by_test_id("kpi-profiles").wait_for()
                began = time.monotonic()
                go(page, "Profiles")
                expect(rows).to_have_count(50)
                timings.append(time.monotonic() - began)
            expect(page.get_by_test_id("total")).to_have_text(f"{PROFILES} profiles")
            began = time.monotonic()
            page.get_by_role("button", name="Next").click()
            expect(rows.first).to_contain_text("p000050")
            timings.append(time.monotonic() - began)
            shot(page, tmp_path, "profiles-100k")
        print(f"page of 50 out of {PROFILES}: {', '.join(f'{t:.3f}' for t in timings)} s")
        assert min(timings[:3]) < LIMIT_S, timings
        assert timings[3] < LIMIT_S, timings
    finally:
        asyncio.run(_drop(settings, tenant))
