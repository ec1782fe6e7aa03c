"""Who is calling, for which tenant, and may they: the one dependency every route uses.

``require(permission)`` authenticates a bearer token or an API key, checks the role
against the permission matrix (``core/access.py``) and the tenant's status, and hands
the route a :class:`Scope` whose repositories are bound to the caller's tenant. Routes
never see a tenant id they could swap.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Literal

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from headwater.console.repository import TenantConfig
from headwater.console.runtime import ConsoleRuntime
from headwater.console.tenant_data import TenantData
from headwater.console.tokens import Claims
from headwater.core.access import Permission, Role, allowed
from headwater.core.accounts import (
    API_KEY_KIND,
    REVOKED_KIND,
    USER_KIND,
    ApiKeyRecord,
    UserRecord,
    keys_match,
    split_api_key,
)
from headwater.core.config import ConfigEntry, config_key
from headwater.core.tenancy import tenant_key
from headwater.errors import Forbidden, Unauthenticated

__all__ = [
    "Principal",
    "Scope",
    "TmsAccess",
    "live_user",
    "require",
    "runtime_of",
    "tenant_active",
    "token_revoked",
]

bearer_scheme = OAuth2PasswordBearer(tokenUrl="/user/token", auto_error=False)
api_key_scheme = APIKeyHeader(name="x-api-key", auto_error=False, scheme_name="ApiKey")
tms_key_scheme = APIKeyHeader(name="x-tms-key", auto_error=False, scheme_name="TmsKey")


@dataclass(frozen=True)
class Principal:
    tenant: str
    subject: str  # user id or API key id
    role: Role
    via: Literal["token", "key"]
    token: Claims | None = None  # the access token's claims, for logout


@dataclass(frozen=True)
class Scope:
    """What a route may touch: the caller and repositories bound to the caller's tenant."""

    principal: Principal
    config: TenantConfig
    runtime: ConsoleRuntime = field(repr=False)

    @property
    def data(self) -> TenantData:
        return TenantData(self.runtime.search, self.runtime.settings.index_prefix, self.tenant)

    @property
    def tenant(self) -> str:
        return self.principal.tenant


def runtime_of(request: Request) -> ConsoleRuntime:
    runtime: ConsoleRuntime = request.app.state.runtime
    return runtime


def tenant_active(runtime: ConsoleRuntime, tenant: str) -> bool:
    entry = runtime.config.get(tenant_key(tenant))
    return entry is not None and entry.data.get("status", "active") == "active"


def token_revoked(runtime: ConsoleRuntime, claims: Claims) -> bool:
    key = config_key(REVOKED_KIND, claims.tenant, None, claims.token_id)
    return runtime.config.get(key) is not None


def live_user(runtime: ConsoleRuntime, claims: Claims) -> tuple[ConfigEntry, UserRecord]:
    """The user a checked token names, refused (401) when the token was revoked (one by
    one at logout, or all of a user's at once by a change to its password, role or
    status) or the user is gone or disabled."""
    if token_revoked(runtime, claims):
        raise Unauthenticated("token revoked")
    entry = runtime.config.get(config_key(USER_KIND, claims.tenant, None, claims.subject))
    if entry is None:
        raise Unauthenticated("user no longer exists")
    user = UserRecord.model_validate(entry.data)
    if user.disabled:
        raise Unauthenticated("user disabled")
    if claims.generation != user.token_generation:
        raise Unauthenticated("token revoked")
    return entry, user


def _from_token(runtime: ConsoleRuntime, token: str) -> Principal:
    claims = runtime.tokens.check(token, "access")
    _, user = live_user(runtime, claims)
    # The role is read from the user record, so a changed role applies at once.
    return Principal(claims.tenant, claims.subject, user.role, "token", claims)


def _from_key(runtime: ConsoleRuntime, value: str) -> Principal:
    parts = split_api_key(value)
    if parts is None:
        raise Unauthenticated("invalid API key")
    tenant, key_id, secret = parts
    entry = runtime.config.get(config_key(API_KEY_KIND, tenant, None, key_id))
    if entry is None:
        raise Unauthenticated("invalid API key")
    key = ApiKeyRecord.model_validate(entry.data)
    if key.disabled or not keys_match(secret, key.digest):
        raise Unauthenticated("invalid API key")
    return Principal(tenant, key_id, key.role, "key")


def authenticate(runtime: ConsoleRuntime, token: str | None, key: str | None) -> Principal:
    if token:
        return _from_token(runtime, token)
    if key:
        return _from_key(runtime, key)
    raise Unauthenticated("credentials required: a bearer token or an x-api-key header")


def scope_for(runtime: ConsoleRuntime, principal: Principal) -> Scope:
    actor = f"{principal.via}:{principal.subject}"
    return Scope(
        principal=principal,
        config=TenantConfig(runtime.config, runtime.publisher, principal.tenant, actor),
        runtime=runtime,
    )


Guard = Callable[..., Awaitable[Scope]]
_GUARDS: dict[Permission, Guard] = {}


def require(permission: Permission) -> Guard:
    """The dependency for routes that need ``permission``; one function per permission."""
    if permission in _GUARDS:
        return _GUARDS[permission]

    async def guard(
        request: Request,
        token: Annotated[str | None, Depends(bearer_scheme)],
        key: Annotated[str | None, Security(api_key_scheme)],
    ) -> Scope:
        runtime = runtime_of(request)
        principal = authenticate(runtime, token, key)
        if not tenant_active(runtime, principal.tenant):
            raise Forbidden(f"tenant {principal.tenant} is suspended or removed")
        if not allowed(principal.role, permission):
            raise Forbidden(f"role {principal.role} may not {permission}")
        return scope_for(runtime, principal)

    guard.permission = permission  # type: ignore[attr-defined]  # read by the route test
    _GUARDS[permission] = guard
    return guard


async def tms_guard(
    request: Request,
    tms_key: Annotated[str | None, Security(tms_key_scheme)],
    token: Annotated[str | None, Depends(bearer_scheme)],
    key: Annotated[str | None, Security(api_key_scheme)],
) -> None:
    """Tenant management answers only to the TMS key; no user or API key role suffices."""
    runtime = runtime_of(request)
    if tms_key is None:
        if token or key:
            authenticate(runtime, token, key)  # a bad credential is still a 401
            raise Forbidden("tenant management needs the x-tms-key header")
        raise Unauthenticated("credentials required: the x-tms-key header")
    configured = runtime.settings.tms_key
    if configured is None:
        raise Forbidden("tenant management is disabled: HEADWATER_TMS_KEY is not set")
    if not hmac.compare_digest(tms_key.encode(), configured.get_secret_value().encode()):
        raise Unauthenticated("wrong TMS key")


TmsAccess = Depends(tms_guard)
