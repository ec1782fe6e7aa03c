"""Collection routes (Tracardi tracker protocol and webhooks) and health checks."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import Response

from headwater.collector.body import read_limited, request_data
from headwater.collector.routing import DirectRoute
from headwater.collector.runtime import CollectorRuntime
from headwater.core.ids import new_id
from headwater.core.intake import (
    RequestMeta,
    TrackerPayload,
    build_collect_batch,
    build_tracker_batch,
    parse_tracker_payload,
)

__all__ = ["ErrorBody", "TrackResponse", "router"]

router = APIRouter(route_class=DirectRoute)


class IdRef(BaseModel):
    id: str | None


class TrackResponse(BaseModel):
    """What trackers read back: they store ``profile.id`` and ``session.id``."""

    profile: IdRef | None
    session: IdRef
    events: list[str]
    ux: list[Any] = []
    response: dict[str, Any] = {}
    errors: list[str] = []
    warnings: list[str] = []
    task: str


class CollectResponse(BaseModel):
    events: list[str]
    session: IdRef


class ErrorBody(BaseModel):
    error: str
    field: str | None = None


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "malformed body",
        401: "unknown event source",
        403: "event source disabled or channel not allowed",
        413: "request or event over its size limit",
        422: "a field is missing or invalid",
        503: "the event log is unavailable; retry after Retry-After seconds",
    }.items()
}


def _runtime(request: Request) -> CollectorRuntime:
    runtime: CollectorRuntime = request.app.state.runtime
    return runtime


def _meta(request: Request, runtime: CollectorRuntime) -> RequestMeta:
    return RequestMeta(
        received_at=runtime.now_ms(),
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


@router.post(
    "/track",
    response_model=TrackResponse,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/TrackerPayload"}}
            },
        }
    },
    summary="Collect events (Tracardi tracker protocol)",
)
async def track(request: Request) -> Response:
    runtime = _runtime(request)
    body = await read_limited(request, runtime.limits.max_request_bytes)
    payload = parse_tracker_payload(body)
    source = runtime.source(payload.source.id)
    source.admit("track")
    profile_less = request.query_params.get("profile_less", "").lower() in ("1", "true", "yes")
    accepted = build_tracker_batch(
        payload, source, _meta(request, runtime), runtime.limits, profile_less=profile_less
    )
    await runtime.publish(accepted)
    return _json(
        {
            "profile": {"id": accepted.profile_id} if accepted.profile_id else None,
            "session": {"id": accepted.session_id},
            "events": accepted.event_ids,
            "ux": [],
            "response": {},
            "errors": [],
            "warnings": [],
            "task": new_id(),
        }
    )


async def _collect(
    request: Request, event_type: str, source_id: str, session_id: str | None
) -> Response:
    runtime = _runtime(request)
    body = await read_limited(request, runtime.limits.max_request_bytes)
    source = runtime.source(source_id)
    source.admit("collect")
    data = request_data(request, body)
    accepted = build_collect_batch(
        event_type, data, source, session_id, _meta(request, runtime), runtime.limits
    )
    await runtime.publish(accepted)
    return _json({"events": accepted.event_ids, "session": {"id": accepted.session_id}})


async def collect(request: Request, event_type: str, source_id: str) -> Response:
    return await _collect(request, event_type, source_id, None)


async def collect_in_session(
    request: Request, event_type: str, source_id: str, session_id: str
) -> Response:
    return await _collect(request, event_type, source_id, session_id)


for _method in ("GET", "POST"):
    for _path, _endpoint in (
        ("/collect/{event_type}/{source_id}", collect),
        ("/collect/{event_type}/{source_id}/{session_id}", collect_in_session),
    ):
        router.add_api_route(
            _path,
            _endpoint,
            methods=[_method],
            operation_id=f"{_endpoint.__name__}_{_method.lower()}",
            response_model=CollectResponse,
            responses=_ERRORS,
            summary="Collect one webhook event; body (JSON or form) or query string "
            "are its properties",
        )


@router.get("/health", summary="Liveness: the process answers")
async def health(_: Request) -> Response:
    return _json({"status": "ok"})


@router.get("/health/ready", summary="Readiness: Kafka reachable and configuration loaded")
async def ready(request: Request) -> Response:
    runtime = _runtime(request)
    broker = await runtime.producer.reachable()
    config = runtime.config.caught_up
    status = 200 if broker and config else 503
    body = {"status": "ready" if status == 200 else "not ready", "kafka": broker, "config": config}
    return Response(orjson.dumps(body), status, media_type="application/json")


OPENAPI_MODELS: list[type[BaseModel]] = [TrackerPayload]
