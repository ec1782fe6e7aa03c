"""Configuration published on the config topic reaches a running collector."""

from __future__ import annotations

import httpx
import pytest

from headwater.commands.init import InitResult
from headwater.settings import Settings
from tests.support.config import publish_source
from tests.support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def one_event(source_id: str) -> dict[str, object]:
    return {"source": {"id": source_id}, "events": [{"type": "page-view"}]}


async def test_new_disabled_and_restricted_sources_apply_without_restart(
    collector: str, shared_settings: Settings, initialized: InitResult
) -> None:
    source_id = "src-config-test"
    async with httpx.AsyncClient(base_url=collector) as http:

        async def status_track() -> int:
            return (await http.post("/track", json=one_event(source_id))).status_code

        async def status_collect() -> int:
            return (await http.get(f"/collect/ping/{source_id}")).status_code

        assert await status_track() == 401

        await publish_source(shared_settings, source_id, 1, enabled=True, channels=["track"])
        await eventually(lambda: _equals(status_track, 200), timeout=5)
        forbidden = await http.get(f"/collect/ping/{source_id}")
        assert forbidden.status_code == 403
        assert "collect" in forbidden.json()["error"]

        await publish_source(shared_settings, source_id, 2, enabled=False, channels=["track"])
        await eventually(lambda: _equals(status_track, 403), timeout=5)
        assert await status_collect() == 403


async def _equals(probe, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await probe() == expected
