"""``headwater up --staging-collector``: staging sources collect too, into staging."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from headwater.core.tenancy import events_alias
from tests.e2e.conftest import run_up
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


async def test_the_staging_collector_takes_staging_sources_into_staging(tmp_path: Path) -> None:
    with run_up(tmp_path, None, extra=("--staging-collector",)) as stack:
        info = stack.info
        assert info["staging_collector"] != info["collector"]
        assert info["staging_write_key"].startswith("hw_")
        event = {"source": {"id": info["staging_source_id"]}, "events": [{"type": "page-view"}]}
        async with httpx.AsyncClient() as http:
            refused = await http.post(f"{info['collector']}/track", json=event)
            assert refused.status_code == 401
            assert "deploy the source" in refused.json()["error"]

            taken = await http.post(f"{info['staging_collector']}/track", json=event)
            assert taken.status_code == 200, taken.text
            event_id = taken.json()["events"][0]
            alias = events_alias("hw", info["tenant"], "staging")

            async def stored() -> list | None:
                hits = await http.post(
                    f"{info['search']}/{alias}/_search",
                    json={"query": {"ids": {"values": [event_id]}}},
                )
                return hits.json()["hits"]["hits"] or None

            [hit] = await eventually(stored, timeout=15)
        assert hit["_source"]["env"] == "staging"
        assert (tmp_path / "logs" / "staging-collector.log").exists()
