"""The collector's short way to its collection routes (collector/hot_paths.py) answers
exactly as FastAPI's full way does: statuses, bodies, CORS and error headers, on a real
broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from headwater.collector.app import create_app
from headwater.collector.hot_paths import CollectorApp
from headwater.commands.init import InitResult
from headwater.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ORIGIN = {"origin": "https://shop.example"}


@pytest_asyncio.fixture(loop_scope="session")
async def app(shared_settings: Settings, initialized: InitResult) -> AsyncIterator[CollectorApp]:
    collector = create_app(shared_settings)
    assert isinstance(collector, CollectorApp)
    async with collector.router.lifespan_context(collector):
        yield collector


def _client(asgi: Callable[[Scope, Receive, Send], Awaitable[None]]) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=asgi, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://collector")


def _fastapi_way(app: CollectorApp) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        await FastAPI.__call__(app, scope, receive, send)

    return asgi


def _requests(source: str) -> list[tuple[str, str, dict[str, Any]]]:
    track = {"source": {"id": source}, "events": [{"type": "page-view"}]}
    return [
        ("POST", "/track", {"json": track, "headers": ORIGIN}),
        ("POST", "/track", {"content": b"{not json", "headers": ORIGIN}),
        ("POST", "/track", {"json": {"source": {"id": source}, "events": []}}),
        ("POST", "/track", {"json": {**track, "source": {"id": "no-such-source"}}}),
        ("POST", "/track", {"json": {**track, "events": [{"type": "x", "id": "bad id!"}]}}),
        ("GET", "/track", {}),  # no direct route for GET: FastAPI's 405 either way
        ("POST", "/collect/signup/" + source, {"json": {"plan": "pro"}, "headers": ORIGIN}),
        ("GET", "/collect/signup/" + source + "/s-1?plan=pro", {}),
        ("POST", "/collect/signup/" + source + "/bad%20session", {"json": {}}),
        ("GET", "/health", {}),
        ("GET", "/no-such-route", {}),
    ]


def _comparable(answer: httpx.Response) -> tuple[int, dict[str, str], object]:
    headers = {k: v for k, v in answer.headers.items() if k not in ("content-length", "date")}
    headers["x-request-id"] = "fresh" if len(headers.get("x-request-id", "")) == 32 else "none"
    body = answer.json() if answer.content else None
    if answer.status_code == 200 and isinstance(body, dict):
        body = sorted(body)  # fresh ids on every call: compare the keys
    return answer.status_code, headers, body


async def test_direct_routes_answer_as_fastapi_does(
    app: CollectorApp, initialized: InitResult
) -> None:
    source = next(iter(initialized.sources.values()))
    async with _client(_fastapi_way(app)) as http:
        expected = [
            _comparable(await http.request(m, path, **kw)) for m, path, kw in _requests(source)
        ]
    assert app.direct_stack_built is False  # nothing above took the short way
    async with _client(app) as http:
        got = [_comparable(await http.request(m, path, **kw)) for m, path, kw in _requests(source)]
    assert app.direct_stack_built is True
    assert got == expected
    statuses = [status for status, _, _ in got]
    assert statuses == [200, 400, 422, 401, 422, 405, 200, 200, 422, 200, 404]
    assert got[0][1]["access-control-allow-origin"] in ("*", ORIGIN["origin"])


async def test_a_bug_is_a_500_without_its_details(
    app: CollectorApp, initialized: InitResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.state.runtime, "publish", broken)
    source = next(iter(initialized.sources.values()))
    body = {"source": {"id": source}, "events": [{"type": "page-view"}]}
    answers = []
    for asgi in (_fastapi_way(app), app):
        async with _client(asgi) as http:
            answers.append(await http.post("/track", json=body))
    assert [a.status_code for a in answers] == [500, 500]
    assert answers[0].content == answers[1].content
    assert b"secret internals" not in answers[1].content
