"""Query parameters a route does not declare are refused (422 naming them), not ignored:
``/events?email=x`` must not answer every event as if it had filtered them."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from headwater.errors import InvalidInput

__all__ = ["known_query_params", "refuse_unknown_query_params"]


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
