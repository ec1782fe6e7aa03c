"""Query parameters a route does not declare are refused (422 naming them), not ignored:
``/events?email=x`` must not answer every event as if it had filtered them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from headwater.console.auth import Scope
from headwater.errors import InvalidInput

__all__ = ["known_query_params", "only_known_query_params", "refuse_unknown_query_params"]


def known_query_params(dependant: Dependant) -> set[str]:
    """The query parameters a route reads, its dependencies' included."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= known_query_params(sub)
    return names


async def refuse_unknown_query_params(request: Request) -> None:
    """A route dependency: InvalidInput (422) listing the parameters the route ignores."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):  # pragma: no cover - always set by FastAPI
        return
    known = known_query_params(route.dependant)
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        accepted = ", ".join(sorted(known)) or "none"
        raise InvalidInput(
            f"unknown query parameter {', '.join(unknown)}; this route accepts {accepted}",
            field=unknown[0],
        )


def only_known_query_params(guard: Callable[..., Any]) -> Callable[..., Any]:
    """``guard`` (``require(permission)``), then unknown query parameters refused: use it
    as the routes' guard, ``Depends(only_known_query_params(require(...)))``, so a caller
    without credentials gets 401, not 422."""

    async def scope_with_known_params(request: Request, scope: Scope) -> Scope:
        await refuse_unknown_query_params(request)
        return scope

    # set here, not in the signature: the annotation names this call's guard
    scope_with_known_params.__annotations__["scope"] = Annotated[Scope, Depends(guard)]
    return scope_with_known_params
