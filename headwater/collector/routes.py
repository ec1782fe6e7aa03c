"""Collection routes (Tracardi tracker protocol and webhooks) and health checks."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import Response

from headwater.collector.answers import (
    ERROR_RESPONSES,
    ErrorBody,
    json_answer,
    request_meta,
    runtime_of,
)
from headwater.collector.body import read_limited, request_data
from headwater.collector.routing import DirectRoute
from headwater.core.ids import IdPool
from headwater.core.intake import (
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


@router.post(
    "/track",
    response_model=TrackResponse,
    responses=ERROR_RESPONSES,
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
    runtime = runtime_of(request)
    body = await read_limited(request, runtime.limits.max_request_bytes)
    payload = parse_tracker_payload(body)
    source = runtime.source(payload.source.id)
    source.admit("track")
    runtime.admit_rate(source, len(payload.events))
    # one read of the OS random source for the ids of the events, session, profile and task
    make_id = IdPool(len(payload.events) + 3)
    accepted = build_tracker_batch(
        payload,
        source,
        request_meta(request, runtime),
        runtime.limits,
        profile_less=_profile_less(request),
        make_id=make_id,
    )
    await runtime.publish(accepted, "track")
    return json_answer(
        {
            "profile": {"id": accepted.profile_id} if accepted.profile_id else None,
            "session": {"id": accepted.session_id},
            "events": accepted.event_ids,
            "ux": [],
            "response": {},
            "errors": [],
            "warnings": [],
            "task": make_id(),
        }
    )


def _profile_less(request: Request) -> bool:
    """``?profile_less=1`` (or true, yes); most requests have no query string to parse."""
    if not request.scope.get("query_string"):
        return False
    return request.query_params.get("profile_less", "").lower() in ("1", "true", "yes")


async def _collect(
    request: Request, event_type: str, source_id: str, session_id: str | None
) -> Response:
    runtime = runtime_of(request)
    body = await read_limited(request, runtime.limits.max_request_bytes)
    source = runtime.source(source_id)
    source.admit("collect")
    # the raw bytes, read under the size cap and before any parsing, are what was signed
    claim = runtime.signatures.check(source, request.method, request.headers, body)
    try:
        runtime.admit_rate(source, 1)
        data = request_data(request, body, query=claim is None)
        accepted = build_collect_batch(
            event_type, data, source, session_id, request_meta(request, runtime), runtime.limits
        )
        await runtime.publish(accepted, "collect")
    except BaseException:
        if claim is not None:  # not stored: the sender's retry of this request must pass
            runtime.signatures.release(claim)
        raise
    return json_answer({"events": accepted.event_ids, "session": {"id": accepted.session_id}})


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
            responses=ERROR_RESPONSES,
            summary="Collect one webhook event; body (JSON or form) or query string "
            "are its properties",
        )


@router.get("/health", summary="Liveness: the process answers")
async def health(_: Request) -> Response:
    return json_answer({"status": "ok"})


@router.get("/health/ready", summary="Readiness: Kafka reachable and configuration loaded")
async def ready(request: Request) -> Response:
    runtime = runtime_of(request)
    broker = await runtime.producer.reachable()
    config = runtime.config.caught_up
    status = 200 if broker and config else 503
    body = {"status": "ready" if status == 200 else "not ready", "kafka": broker, "config": config}
    return Response(orjson.dumps(body), status, media_type="application/json")


OPENAPI_MODELS: list[type[BaseModel]] = [TrackerPayload]
