"""What every collection route shares: the runtime, request facts, answers and the
error statuses they document."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from headwater.collector.body import header
from headwater.collector.runtime import CollectorRuntime
from headwater.core.intake import RequestMeta

__all__ = ["ERROR_RESPONSES", "ErrorBody", "json_answer", "request_meta", "runtime_of"]


class ErrorBody(BaseModel):
    error: str
    field: str | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "malformed body",
        401: "unknown event source, unknown or revoked write key, or a signed webhook's "
        "signature missing, wrong, stale or replayed",
        403: "event source disabled or channel not allowed",
        413: "request or event over its size limit",
        422: "a field is missing or invalid",
        429: "the event source is over its rate limit; retry after Retry-After seconds",
        503: "the event log is unavailable; retry after Retry-After seconds",
    }.items()
}


def runtime_of(request: Request) -> CollectorRuntime:
    runtime: CollectorRuntime = request.app.state.runtime
    return runtime


def request_meta(request: Request, runtime: CollectorRuntime) -> RequestMeta:
    client = request.scope.get("client")
    return RequestMeta(
        received_at=runtime.now_ms(),
        ip=client[0] if client else None,
        user_agent=header(request, b"user-agent"),
    )


def json_answer(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")
