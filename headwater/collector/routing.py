"""A route class for the collector's hot paths."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["DirectRoute", "Handler"]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class DirectRoute(APIRoute):
    """Calls the endpoint with the request and its path parameters, nothing more.

    Collection routes read and limit their bodies themselves, so FastAPI's dependency
    and body resolution is pure overhead there (about a third of the framework's
    per-request cost, measured with ``bench/collector.py``). The endpoint signature
    still documents the route in OpenAPI.
    """

    def get_route_handler(self) -> Handler:
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            response: Response = await endpoint(request, **request.path_params)
            return response

        return handler
