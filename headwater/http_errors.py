"""Domain errors to HTTP answers, shared by the collector and the private API: one JSON
body (``{"error": ..., "field": ...}``), the same statuses and headers everywhere.
Route handlers never build error bodies."""

from __future__ import annotations

import logging
from collections.abc import Callable

import orjson
from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from headwater.errors import DependencyError, InputError, Unauthenticated

__all__ = ["install_common_handlers", "json_answer"]

log = logging.getLogger(__name__)


def json_answer(
    status: int, body: dict[str, object], headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


def install_common_handlers(
    app: FastAPI,
    retry_after: int,
    unavailable_reason: Callable[[Exception], str],
    refused: Callable[[Request, Exception], None] | None = None,
) -> None:
    """Client errors (4xx with the reason and the field), unavailable dependencies (503
    with Retry-After and ``unavailable_reason(exc)``), HTTP errors and bugs (500, logged,
    nothing of the exception in the answer). ``refused`` is told of each client error
    (the collector counts them)."""

    async def input_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, InputError)
        if refused is not None:
            refused(request, exc)
        body: dict[str, object] = {"error": exc.message}
        if exc.field:
            body["field"] = exc.field
        headers: dict[str, str] = {}
        wait = getattr(exc, "retry_after", None)  # rate limits, login lockout
        if wait is not None:
            headers["Retry-After"] = str(wait)
        if isinstance(exc, Unauthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        return json_answer(exc.status, body, headers or None)

    async def unavailable(_: Request, exc: Exception) -> Response:
        log.warning("answering 503: %s", exc)
        return json_answer(
            503, {"error": unavailable_reason(exc)}, {"Retry-After": str(retry_after)}
        )

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return json_answer(exc.status_code, {"error": str(exc.detail)}, dict(exc.headers or {}))

    async def gone(request: Request, exc: Exception) -> Response:
        # the server dropped the connection (a malformed body, e.g. a bad
        # Transfer-Encoding) or the client left: one line, not a traceback per request
        log.info("%s %s: the client's body ended early", request.method, request.url.path)
        if refused is not None:
            refused(request, exc)
        return json_answer(400, {"error": "the request body could not be read"})

    async def bug(_: Request, exc: Exception) -> Response:
        log.error("unexpected error", exc_info=exc)
        return json_answer(500, {"error": "internal error"})

    app.add_exception_handler(InputError, input_error)
    app.add_exception_handler(DependencyError, unavailable)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(ClientDisconnect, gone)
    app.add_exception_handler(Exception, bug)
