"""The collector's FastAPI app, with a short way in for its collection routes.

Collection routes (:class:`DirectRoute`) carry the traffic. FastAPI reaches them through
every route of three routers, its request wrapper and middleware the collector has no
use for (OpenTelemetry hooks, a body limit the routes enforce themselves, an exit stack
for dependencies they do not have): about 50 us of a 1-event ``/track`` request's
~300 us of CPU (``bench/collector.py``). :class:`CollectorApp` matches those routes
first and serves them through the same exception handlers and the same user middleware
(CORS) as the rest of the app, in the order Starlette stacks them; anything else (other
methods, unknown paths, preflights, the OpenAPI document) takes FastAPI's way.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from starlette._utils import get_route_path
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from headwater.collector.routing import DirectRoute, Handler

__all__ = ["CollectorApp"]


class CollectorApp(FastAPI):
    """FastAPI, plus the short way to :class:`DirectRoute` endpoints."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._direct_routers: list[APIRouter] = []
        self._direct: list[tuple[DirectRoute, Handler]] | None = None
        self._direct_stack: ASGIApp | None = None

    def include_router(self, router: APIRouter, **options: Any) -> None:
        """FastAPI's include; a router included as it is (no prefix, dependencies or
        other options) also offers its direct routes the short way, at their paths."""
        super().include_router(router, **options)
        if not options:
            self._direct_routers.append(router)

    @property
    def direct_stack_built(self) -> bool:
        """Whether a request has taken the short way yet (for tests)."""
        return self._direct_stack is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._match(scope):
            scope["app"] = self
            if self._direct_stack is None:
                self._direct_stack = self._build_direct_stack()
            await self._direct_stack(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def _match(self, scope: Scope) -> bool:
        """Find the direct route for the request; put it and its path parameters in
        the scope as Starlette's router would."""
        if self._direct is None:  # routes are complete once the first request comes
            self._direct = [
                (route, route.get_route_handler())
                for router in self._direct_routers
                for route in router.routes
                if isinstance(route, DirectRoute)
            ]
        method = scope["method"]
        path = get_route_path(scope)
        for route, handler in self._direct:
            if route.methods is None or method not in route.methods:
                continue
            found = route.path_regex.match(path)
            if found is None:
                continue
            convert = route.param_convertors
            scope["route"] = route
            scope["path_params"] = {k: convert[k].convert(v) for k, v in found.groupdict().items()}
            scope["headwater.handler"] = handler
            return True
        return False

    def _build_direct_stack(self) -> ASGIApp:
        """Starlette's stack (server errors, the app's middleware, its exception
        handlers) around the route's handler: the answers are the same either way."""
        error_handler = None
        handlers: dict[Any, Any] = {}
        for key, value in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
            else:
                handlers[key] = value
        refusals = ExceptionMiddleware(_raise_refusal, handlers=handlers, debug=self.debug)
        app: ASGIApp = _Serve(refusals)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return ServerErrorMiddleware(app, handler=error_handler, debug=self.debug)


class _Serve:
    """The route's handler and its answer. An exception from the handler (a refusal:
    400, 401, 429, 503, ...) takes Starlette's ``ExceptionMiddleware`` with the app's
    handlers, as it would inside the stack; an accepted request does not pay for that
    middleware's request object and send wrappers (a few microseconds each request)."""

    def __init__(self, refusals: ASGIApp) -> None:
        self._refusals = refusals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler: Handler = scope["headwater.handler"]
        try:
            response = await handler(Request(scope, receive, send))
        except Exception as exc:
            scope[_REFUSAL] = exc
            await self._refusals(scope, receive, send)
            return
        await response(scope, receive, send)


_REFUSAL = "headwater.refusal"


async def _raise_refusal(scope: Scope, receive: Receive, send: Send) -> None:
    """Raise what the handler raised, inside ``ExceptionMiddleware``."""
    raise scope.pop(_REFUSAL)
