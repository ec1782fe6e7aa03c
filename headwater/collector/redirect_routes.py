"""``GET /redirect/{redirect_id}``: record a click, answer 307 to the configured URL."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from headwater.collector.answers import ERROR_RESPONSES, request_meta, runtime_of
from headwater.collector.body import request_data
from headwater.collector.routing import DirectRoute
from headwater.core.intake import build_collect_batch
from headwater.errors import DependencyError

__all__ = ["redirect_router"]

log = logging.getLogger(__name__)

redirect_router = APIRouter(route_class=DirectRoute)

_RESPONSES: dict[int | str, dict[str, Any]] = {
    307: {"description": "to the configured URL; the click is recorded"},
    404: {**ERROR_RESPONSES[422], "description": "unknown redirect"},
    **ERROR_RESPONSES,
}


@redirect_router.get(
    "/redirect/{redirect_id}",
    status_code=307,
    responses=_RESPONSES,
    summary="Record a click on a tracked link and send the visitor to its URL",
)
async def redirect(request: Request, redirect_id: str) -> Response:
    runtime = runtime_of(request)
    link, source = runtime.redirect(redirect_id)
    source.admit("redirect")
    runtime.admit_rate(source, 1)
    query = request_data(request, b"")
    accepted = build_collect_batch(
        link.event_type,
        link.click_properties(query),
        source,
        None,
        request_meta(request, runtime),
        runtime.limits,
        channel="redirect",
    )
    try:
        await runtime.publish(accepted, "redirect")
    except DependencyError as exc:
        # a person is waiting to get where the link promised: send them on, and say
        # loudly that this click is not recorded
        log.warning("click on redirect %s not recorded: %s", redirect_id, exc)
    return RedirectResponse(link.url, status_code=307)
