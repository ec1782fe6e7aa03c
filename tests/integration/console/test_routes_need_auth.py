"""Every route of the private API refuses the unauthenticated (401) and, for each role
the permission matrix leaves out, the unauthorised (403). Routes are enumerated from
the app itself, so a new route is covered the day it is added."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from headwater.console import PUBLIC_ROUTES
from headwater.console.auth import tms_guard
from headwater.core.access import Permission, Role, roles_lacking
from tests.integration.console.conftest import TMS_KEY, Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TMS = "tms"  # what a tenant route requires: the TMS key, which no role has
# What every role may do: routes needing only these cannot be refused by role, so the
# suspended-tenant test below shows their 403 instead.
EVERY_ROLE = {Permission.SELF, Permission.CONFIG_READ, Permission.DATA_READ}


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    needs: Permission | str | None  # None: public


def _routes(app: FastAPI) -> Iterator[tuple[str, set[str], Any]]:
    try:  # FastAPI >= 0.16x includes routers lazily
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined]
    except ImportError:
        for route in app.routes:
            yield route.path, set(getattr(route, "methods", None) or ()), route  # type: ignore[attr-defined]
        return
    for context in iter_route_contexts(app.routes):
        yield context.path, set(context.methods or ()), context.original_route


def _needs(route: Any) -> Permission | str | None:
    if not isinstance(route, APIRoute):
        return None
    found: list[Permission | str] = []
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        pending.extend(dependency.dependencies)
        if dependency.call is tms_guard:
            found.append(TMS)
        elif hasattr(dependency.call, "permission"):
            found.append(dependency.call.permission)
    assert len(set(found)) <= 1, f"{route.path} has several guards: {found}"
    return found[0] if found else None


def enumerate_routes(app: FastAPI) -> list[RouteInfo]:
    routes = []
    for path, methods, route in _routes(app):
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            routes.append(RouteInfo(method, path, _needs(route)))
    return routes


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "guessed_id", path)


async def call(api: Api, route: RouteInfo, headers: dict[str, str]) -> int:
    body = {} if route.method in ("POST", "PUT", "PATCH") else None
    response = await api.http.request(
        route.method, concrete(route.path), headers=headers, json=body
    )
    return response.status_code


@pytest.fixture(scope="module")
def routes(api: Api) -> list[RouteInfo]:
    app = api.http._transport.app  # type: ignore[attr-defined]
    found = enumerate_routes(app)
    documented = {
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    }
    assert documented <= {(r.method, r.path) for r in found}  # the enumeration misses none
    return found


async def test_only_the_public_routes_need_no_credentials(routes: list[RouteInfo]) -> None:
    public = {r.path for r in routes if r.needs is None}
    assert public == PUBLIC_ROUTES


async def test_every_other_route_answers_401_without_or_with_bad_credentials(
    api: Api, routes: list[RouteInfo]
) -> None:
    guarded = [r for r in routes if r.needs is not None]
    assert len(guarded) >= 20
    for route in guarded:
        for headers in (
            {},
            {"authorization": "Bearer not-a-token"},
            {"x-api-key": "hwk.someone.guess.guess"},
        ):
            status = await call(api, route, headers)
            assert status == 401, f"{route.method} {route.path} with {headers}: {status}"


async def test_every_role_lacking_a_permission_gets_403(api: Api, routes: list[RouteInfo]) -> None:
    await api.tenant("routes")
    admin = await api.token("admin@routes.example")
    tokens = {Role.ADMIN: admin}
    for role in (Role.DEVELOPER, Role.MARKETER, Role.MAINTAINER):
        tokens[role] = await api.user(admin, f"{role.value}@routes.example", role.value)

    checked = 0
    for route in routes:
        if route.needs is None:
            continue
        # a user's token never opens tenant management, whatever its role
        refused = list(Role) if route.needs == TMS else roles_lacking(Permission(route.needs))
        if not refused:
            assert route.needs in EVERY_ROLE, route
            continue
        for role in refused:
            status = await call(api, route, tokens[role])
            assert status == 403, f"{role} {route.method} {route.path}: {status}"
            checked += 1
    assert checked >= 30


async def test_every_route_answers_403_to_a_suspended_tenant(
    api: Api, routes: list[RouteInfo]
) -> None:
    await api.tenant("routes_suspended")
    admin = await api.token("admin@routes_suspended.example")  # issued while active
    suspended = await api.http.post(
        "/tenants/routes_suspended/suspend", headers={"x-tms-key": TMS_KEY}
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    tenant_routes = [r for r in routes if r.needs not in (None, TMS)]
    for route in tenant_routes:
        status = await call(api, route, admin)
        assert status == 403, f"{route.method} {route.path}: {status}"
    login = await api.login("admin@routes_suspended.example")
    assert login.status_code == 403
