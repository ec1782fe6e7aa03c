"""Segment-compatible collection routes: ``POST /v1/{track,identify,page,screen,group,
alias,batch}``. Thin: parsing and mapping are :mod:`headwater.core.segment` and
:mod:`headwater.core.segment_mapping`, limits and producing are shared with ``/track``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import Response

from headwater.collector.answers import ERROR_RESPONSES, request_meta, runtime_of
from headwater.collector.body import read_decoded
from headwater.collector.routing import DirectRoute
from headwater.core.segment import (
    SEGMENT_TYPES,
    SegmentBatch,
    SegmentMessage,
    SegmentType,
    parse_segment_batch,
    parse_segment_message,
    write_key_of,
)
from headwater.core.segment_mapping import build_segment_batches

__all__ = ["SEGMENT_MODELS", "SegmentSuccess", "segment_router"]

segment_router = APIRouter(route_class=DirectRoute, prefix="/v1", tags=["segment"])

_SUCCESS = b'{"success":true}'


class SegmentSuccess(BaseModel):
    success: bool


async def _collect(request: Request, kind: SegmentType | None) -> Response:
    runtime = runtime_of(request)
    body = await read_decoded(request, runtime.limits.max_request_bytes)
    batch = parse_segment_batch(body) if kind is None else parse_segment_message(body, kind)
    write_key = write_key_of(request.headers.get("authorization"), batch.writeKey)
    source = runtime.source_for_key(write_key)
    source.admit("segment")
    runtime.admit_rate(source, len(batch.batch))
    accepted = build_segment_batches(
        batch, source, request_meta(request, runtime), runtime.limits, single=kind is not None
    )
    await runtime.publish_all(accepted, "segment" if kind is not None else "batch")
    return Response(_SUCCESS, media_type="application/json")


def _body_doc(model: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}},
        }
    }


def _single(kind: SegmentType) -> Any:
    async def endpoint(request: Request) -> Response:
        return await _collect(request, kind)

    endpoint.__name__ = f"segment_{kind}"
    return endpoint


async def segment_batch(request: Request) -> Response:
    return await _collect(request, None)


for _kind in SEGMENT_TYPES:
    _endpoint = _single(_kind)
    segment_router.add_api_route(
        f"/{_kind}",
        _endpoint,
        methods=["POST"],
        operation_id=f"segment_{_kind}",
        response_model=SegmentSuccess,
        responses=ERROR_RESPONSES,
        openapi_extra=_body_doc("SegmentMessage"),
        summary=f"Segment {_kind} call; write key as HTTP Basic user or writeKey",
    )
    # analytics.js (@segment/analytics-next) posts to the type's first letter: /v1/t ...
    segment_router.add_api_route(
        f"/{_kind[0]}", _endpoint, methods=["POST"], include_in_schema=False
    )
segment_router.add_api_route(
    "/batch",
    segment_batch,
    methods=["POST"],
    operation_id="segment_batch",
    response_model=SegmentSuccess,
    responses=ERROR_RESPONSES,
    openapi_extra=_body_doc("SegmentBatch"),
    summary="Segment batch: up to 2,500 calls; batch context and integrations apply to each",
)

segment_router.add_api_route("/b", segment_batch, methods=["POST"], include_in_schema=False)

SEGMENT_MODELS: list[type[BaseModel]] = [SegmentMessage, SegmentBatch]
