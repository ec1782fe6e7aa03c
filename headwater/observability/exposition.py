"""Serving the metrics: a listener of their own (collector, worker), a response for an
app's own route (private API, bridges), the multi-process registry of a collector run
with several processes, and the ASGI middleware that counts HTTP requests.

With ``headwater collector --workers N`` every process writes its samples to files in
one directory made for that run (``PROMETHEUS_MULTIPROC_DIR``, set before the processes
start); the listener, in the parent process, adds them up. The parent removes the
directory when it exits; a new run never reads an old run's files.
"""

from __future__ import annotations

import hmac
import logging
import os
import random
import re
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
    start_http_server,
)

from headwater.observability.logs import REQUEST_ID
from headwater.observability.metrics import HTTP_REQUESTS, HTTP_SECONDS

__all__ = [
    "CONTENT_TYPE_LATEST",
    "MULTIPROC_ENV",
    "GuardedMetrics",
    "HttpMetrics",
    "metrics_body",
    "multiprocess_dir",
    "registry",
    "remove_multiprocess_dir",
    "serve_metrics",
]

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def multiprocess_dir() -> Path:
    """A fresh directory for this run's per-process samples, named in the environment
    (the processes started after this inherit it). The caller removes it at exit."""
    path = Path(tempfile.mkdtemp(prefix="headwater-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def remove_multiprocess_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if os.environ.get(MULTIPROC_ENV) == str(path):
        del os.environ[MULTIPROC_ENV]


def registry() -> CollectorRegistry:
    """What this process serves: the samples of every process of the run in
    multi-process mode, else this process's own."""
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        return REGISTRY
    combined = CollectorRegistry()
    multiprocess.MultiProcessCollector(combined, path)  # type: ignore[no-untyped-call]
    return combined


def metrics_body() -> bytes:
    """The Prometheus text exposition of :func:`registry`."""
    body: bytes = generate_latest(registry())
    return body


def serve_metrics(host: str, port: int, what: str) -> bool:
    """Serve ``/metrics`` on ``host:port`` from a thread; port 0 serves nothing.
    A port that cannot be opened is logged (the process still does its work)."""
    if port == 0:
        return False
    try:
        start_http_server(port, addr=host, registry=registry())
    except OSError as exc:
        log.error(
            "%s metrics not served: cannot listen on %s:%d (%s); set its metrics port "
            "(0 turns the listener off)",
            what,
            host,
            port,
            exc,
        )
        return False
    log.info("%s metrics on http://%s:%d/metrics", what, host, port)
    return True


class GuardedMetrics:
    """ASGI middleware answering ``GET /metrics`` of an app that has other callers (the
    private API): only to ``Authorization: Bearer <token>``; with no token configured
    the app serves no metrics (403 that says so). Not a route of the app: it is not in
    its OpenAPI document, and its user credentials never open it."""

    def __init__(self, app: App, token: str | None) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/metrics":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(send, 405, b'{"error":"use GET"}', b"application/json")
        elif self._expected is None:
            body = b'{"error":"metrics are off: set HEADWATER_METRICS_TOKEN"}'
            await _answer(send, 403, body, b"application/json")
        elif not hmac.compare_digest(_header(scope, b"authorization"), self._expected):
            body = b'{"error":"GET /metrics needs the metrics token as a Bearer token"}'
            await _answer(send, 401, body, b"application/json", b"Bearer")
        else:
            await _answer(send, 200, metrics_body(), CONTENT_TYPE_LATEST.encode())


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key == name:
            found: bytes = value
            return found
    return b""


async def _answer(
    send: Send, status: int, body: bytes, media_type: bytes, challenge: bytes | None = None
) -> None:
    headers = [(b"content-type", media_type), (b"content-length", str(len(body)).encode())]
    if challenge is not None:
        headers.append((b"www-authenticate", challenge))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _request_id(scope: Scope) -> str:
    """The caller's ``x-request-id`` when it is a plain token, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if _REQUEST_ID.match(text):
                return text
            break
    return f"{random.getrandbits(128):032x}"  # unique enough, and no system call


class HttpMetrics:
    """ASGI middleware: counts answered requests by route template (``unmatched`` for
    paths no route serves: never the URL) and status, times them, and gives each request
    an id (``x-request-id``: kept when the caller sent a plain one, echoed in the answer)
    that every log line of the request carries."""

    def __init__(self, app: App, service: str) -> None:
        self.app = app
        self.service = service
        # (route, method, status) -> its counter and histogram: bounded, looked up once
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        status = 500

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            REQUEST_ID.reset(token)
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in _METHODS else "other"  # the client's
            series = self._series.get((route, method, status))
            if series is None:
                series = self._series[(route, method, status)] = (
                    HTTP_REQUESTS.labels(self.service, route, method, str(status)),
                    HTTP_SECONDS.labels(self.service, route),
                )
            series[0].inc()
            series[1].observe(time.perf_counter() - started)
