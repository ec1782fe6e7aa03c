"""``/user``: log in (OAuth2 password flow), refresh, log out, who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from headwater.console import login as logins
from headwater.console.auth import Scope, require, runtime_of
from headwater.console.models import LogoutIn, Me, RefreshIn, TenantChoiceOut, TokenOut
from headwater.core.access import Permission
from headwater.core.accounts import USER_KIND
from headwater.errors import Forbidden, Unauthenticated
from headwater.http_errors import json_answer

__all__ = ["router"]

router = APIRouter(prefix="/user", tags=["user"])
Self = Annotated[Scope, Depends(require(Permission.SELF))]


def _out(pair: logins.TokenPair) -> TokenOut:
    return TokenOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        tenant=pair.tenant,
        role=pair.role,
    )


@router.post(
    "/token",
    response_model=TokenOut,
    summary="Log in: OAuth2 password grant",
    responses={409: {"model": TenantChoiceOut, "description": "name one of these tenants"}},
)
async def token(
    request: Request,
    username: Annotated[str, Form(description="the user's email")],
    password: Annotated[str, Form(json_schema_extra={"format": "password"})],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
    tenant: Annotated[
        str | None,
        Form(description="needed only when the password opens the email in several tenants"),
    ] = None,
) -> TokenOut | Response:
    try:
        pair = await logins.login(runtime_of(request), username, password, tenant)
    except logins.TenantChoiceNeeded as choice:
        body = TenantChoiceOut(error=choice.message, field="tenant", tenants=choice.tenants)
        return json_answer(409, body.model_dump())
    return _out(pair)


@router.post("/token/refresh", response_model=TokenOut, summary="New tokens for a refresh token")
async def refresh(request: Request, body: RefreshIn) -> TokenOut:
    pair = await logins.refresh(runtime_of(request), body.refresh_token.get_secret_value())
    return _out(pair)


@router.post("/logout", status_code=204, summary="Revoke this access token (and a refresh token)")
async def logout(scope: Self, body: LogoutIn | None = None) -> None:
    claims = scope.principal.token
    if claims is None:
        raise Forbidden("API keys are revoked by deleting them, not by logging out")
    await logins.revoke(scope.runtime, claims)
    if body is not None and body.refresh_token is not None:
        try:
            refresh_claims = scope.runtime.tokens.check(
                body.refresh_token.get_secret_value(), "refresh"
            )
        except Unauthenticated:
            return  # expired or invalid: nothing left to revoke
        if refresh_claims.subject == claims.subject and refresh_claims.tenant == claims.tenant:
            await logins.revoke(scope.runtime, refresh_claims)


@router.get("/me", response_model=Me, summary="Who the credentials belong to")
async def me(scope: Self) -> Me:
    principal = scope.principal
    email = None
    if principal.via == "token":
        email = scope.config.get(USER_KIND, None, principal.subject).data.get("email")
    return Me(
        tenant=principal.tenant,
        subject=principal.subject,
        role=principal.role,
        via=principal.via,
        email=email,
    )
