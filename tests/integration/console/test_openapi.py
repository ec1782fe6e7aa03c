"""The OpenAPI document lists every route with its models and its credentials."""

from __future__ import annotations

import pytest

from headwater.console import PUBLIC_ROUTES
from tests.integration.console.conftest import Api
from tests.integration.console.test_routes_need_auth import enumerate_routes

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_every_route_is_documented_with_models_and_security(api: Api) -> None:
    document = (await api.http.get("/openapi.json")).json()
    app = api.http._transport.app  # type: ignore[attr-defined]
    routes = [r for r in enumerate_routes(app) if r.path != "/openapi.json"]
    assert len(routes) >= 30
    schemes = set(document["components"]["securitySchemes"])
    assert {"OAuth2PasswordBearer", "ApiKey", "TmsKey"} <= schemes
    for route in routes:
        operation = document["paths"][route.path][route.method.lower()]
        answers = operation["responses"]
        ok = next(code for code in answers if code.startswith("2"))
        if ok != "204":
            assert "schema" in answers[ok]["content"]["application/json"], route
        if route.method in ("POST", "PUT", "PATCH") and route.path not in PUBLIC_ROUTES:
            has_body = "requestBody" in operation
            acts_on_path = route.path.endswith(
                ("/deploy", "/rollback", "/suspend", "/resume", "/cancel")
            )
            assert has_body or acts_on_path or route.path == "/user/logout", route
        if route.path in PUBLIC_ROUTES:
            assert "security" not in operation, route
        else:
            assert operation.get("security"), route
            assert "401" in answers and "403" in answers, route
