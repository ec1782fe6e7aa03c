"""Domain errors to HTTP answers, in one place. Route handlers never build error bodies."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from headwater.errors import BrokerUnavailable, DependencyError, InputError, RateLimited

__all__ = ["install_error_handlers"]

log = logging.getLogger(__name__)


def _json(status: int, body: dict[str, object], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


def install_error_handlers(app: FastAPI, retry_after: int) -> None:
    async def input_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, InputError)
        body: dict[str, object] = {"error": exc.message}
        if exc.field:
            body["field"] = exc.field
        if isinstance(exc, RateLimited):
            return _json(exc.status, body, {"Retry-After": str(exc.retry_after)})
        return _json(exc.status, body)

    async def unavailable(_: Request, exc: Exception) -> Response:
        log.warning("answering 503: %s", exc)
        reason = (
            "event not stored: the event log is unavailable, retry later"
            if isinstance(exc, BrokerUnavailable)
            else f"event not stored: {exc}"
        )
        return _json(503, {"error": reason}, {"Retry-After": str(retry_after)})

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return _json(exc.status_code, {"error": str(exc.detail)}, dict(exc.headers or {}))

    async def bug(_: Request, exc: Exception) -> Response:
        log.error("unexpected error", exc_info=exc)
        return _json(500, {"error": "internal error"})

    app.add_exception_handler(InputError, input_error)
    app.add_exception_handler(DependencyError, unavailable)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, bug)
