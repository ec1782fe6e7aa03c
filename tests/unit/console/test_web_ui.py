"""The built console under ``/ui/``: public static files, the single-page app's paths
answered with its index, ``/ui`` sent to ``/ui/``; the API behind it stays guarded."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from headwater.console.web_ui import console_routes

INDEX = "<!doctype html><title>console</title>"


@pytest.fixture
def client(tmp_path: Path) -> httpx.AsyncClient:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "app.js").write_text("console.log(1)")
    app = FastAPI()
    app.router.routes.extend(console_routes(tmp_path))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


@pytest.mark.asyncio
async def test_files_index_fallback_and_redirect(client: httpx.AsyncClient) -> None:
    async with client:
        assert (await client.get("/ui/")).text == INDEX
        assert (await client.get("/ui/assets/app.js")).text == "console.log(1)"
        deep = await client.get("/ui/profiles/p-1")  # a reload of a screen's URL
        assert (deep.status_code, deep.text) == (200, INDEX)
        assert (await client.get("/ui/assets/missing.js")).status_code == 404
        moved = await client.get("/ui")
        assert (moved.status_code, moved.headers["location"]) == (307, "http://api/ui/")


def test_nothing_is_served_when_the_console_was_not_built(tmp_path: Path) -> None:
    assert console_routes(tmp_path) == []
