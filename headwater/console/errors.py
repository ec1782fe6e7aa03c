"""Domain errors to HTTP answers for the private API, in one place."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from headwater.errors import (
    ConfigurationError,
    DependencyError,
    InputError,
    SearchRejected,
    TooManyAttempts,
    Unauthenticated,
)

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
        headers: dict[str, str] = {}
        if isinstance(exc, Unauthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, TooManyAttempts):
            headers["Retry-After"] = str(exc.retry_after)
        return _json(exc.status, body, headers)

    async def invalid_request(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return _json(422, {"error": str(first.get("msg", "invalid request")), "field": where})

    async def unavailable(_: Request, exc: Exception) -> Response:
        log.warning("answering 503: %s", exc)
        return _json(503, {"error": f"unavailable: {exc}"}, {"Retry-After": str(retry_after)})

    async def refused(_: Request, exc: Exception) -> Response:
        log.warning("search refused: %s", exc)
        return _json(400, {"error": "the search engine refused the request"})

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return _json(exc.status_code, {"error": str(exc.detail)}, dict(exc.headers or {}))

    async def bug(_: Request, exc: Exception) -> Response:
        log.error("unexpected error", exc_info=exc)
        return _json(500, {"error": "internal error"})

    app.add_exception_handler(InputError, input_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(DependencyError, unavailable)
    app.add_exception_handler(TimeoutError, unavailable)
    app.add_exception_handler(SearchRejected, refused)
    app.add_exception_handler(ConfigurationError, bug)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, bug)
