"""Domain errors to HTTP answers for the private API: the shared handlers
(http_errors.py) plus request validation, timeouts and search refusals."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from headwater.errors import ConditionSyntaxError, SearchRejected
from headwater.http_errors import install_common_handlers, json_answer

__all__ = ["install_error_handlers"]

log = logging.getLogger(__name__)


def _unavailable(exc: Exception) -> str:
    return f"unavailable: {exc}"


def install_error_handlers(app: FastAPI, retry_after: int) -> None:
    install_common_handlers(app, retry_after, _unavailable)

    async def invalid_request(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return json_answer(422, {"error": str(first.get("msg", "invalid request")), "field": where})

    async def timed_out(_: Request, exc: Exception) -> Response:
        log.warning("answering 503: %s", exc)
        return json_answer(503, {"error": _unavailable(exc)}, {"Retry-After": str(retry_after)})

    async def refused(_: Request, exc: Exception) -> Response:
        log.warning("search refused: %s", exc)
        return json_answer(400, {"error": "the search engine refused the request"})

    async def bad_condition(_: Request, exc: Exception) -> Response:
        """Where a condition is wrong (1-based line and column), for the console's caret."""
        assert isinstance(exc, ConditionSyntaxError)
        body = {
            "error": exc.message,
            "field": exc.field or "condition",
            "line": exc.line,
            "column": exc.column,
            "expected": list(exc.expected),
        }
        return json_answer(422, body)

    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(ConditionSyntaxError, bad_condition)
    app.add_exception_handler(TimeoutError, timed_out)
    app.add_exception_handler(SearchRejected, refused)
