"""Password login, token refresh and revocation: the rules behind ``/user/token``."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime

from headwater.console.auth import live_user, tenant_active, token_revoked
from headwater.console.runtime import ConsoleRuntime
from headwater.console.tokens import Claims
from headwater.core.access import Role
from headwater.core.accounts import (
    REVOKED_KIND,
    USER_KIND,
    UserRecord,
    normalise_email,
    user_id_for,
)
from headwater.core.config import ConfigEntry, config_key
from headwater.errors import Forbidden, InvalidInput, TooManyAttempts, Unauthenticated

__all__ = ["TokenPair", "find_user", "login", "prune_revocations", "refresh", "revoke"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenPair:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    tenant: str
    role: Role


def find_user(runtime: ConsoleRuntime, email: str, tenant: str | None) -> ConfigEntry | None:
    """The user with this email; without a tenant only when exactly one tenant has it."""
    try:
        email = normalise_email(email)
    except InvalidInput:
        return None
    if tenant is not None:
        try:
            return runtime.config.get(
                config_key(USER_KIND, tenant, None, user_id_for(tenant, email))
            )
        except InvalidInput:
            return None
    found = [e for e in runtime.config.entries(USER_KIND) if e.data.get("email") == email]
    return found[0] if len(found) == 1 else None


def _pair(runtime: ConsoleRuntime, user_id: str, tenant: str, role: Role) -> TokenPair:
    access = runtime.tokens.issue(subject=user_id, tenant=tenant, role=role, kind="access")
    fresh = runtime.tokens.issue(subject=user_id, tenant=tenant, role=role, kind="refresh")
    return TokenPair(access.token, fresh.token, runtime.tokens.access_seconds, tenant, role)


async def login(
    runtime: ConsoleRuntime, username: str, password: str, tenant: str | None
) -> TokenPair:
    account = username.strip().lower()  # lockout follows the name, whatever tenant is asked
    now = runtime.clock()
    wait = runtime.logins.locked_for(account, now)
    if wait > 0:
        raise TooManyAttempts(
            "too many failed logins; try again later", retry_after=math.ceil(wait)
        )
    entry = find_user(runtime, username, tenant)
    user = UserRecord.model_validate(entry.data) if entry is not None else None
    good = await runtime.passwords.verify_async(user.password_hash if user else None, password)
    if entry is None or user is None or not good or user.disabled:
        runtime.logins.failed(account, runtime.clock())
        log.info("login refused (%s)", f"user {entry.id}" if entry else "unknown account")
        raise Unauthenticated("wrong email or password")
    runtime.logins.succeeded(account)
    if not tenant_active(runtime, entry.tenant):
        raise Forbidden(f"tenant {entry.tenant} is suspended or removed")
    log.info("login: user %s of tenant %s", entry.id, entry.tenant)
    return _pair(runtime, entry.id, entry.tenant, user.role)


async def revoke(runtime: ConsoleRuntime, claims: Claims) -> None:
    """Publish the token id on the config topic, so every API process refuses it."""
    if token_revoked(runtime, claims):
        return
    await runtime.publisher.publish(
        kind=REVOKED_KIND,
        tenant=claims.tenant,
        env=None,
        entity_id=claims.token_id,
        data={"expires": claims.expires.isoformat(), "subject": claims.subject},
        version=1,
        updated_by=f"token:{claims.subject}",
    )
    await runtime.config.wait_for(config_key(REVOKED_KIND, claims.tenant, None, claims.token_id), 1)


async def prune_revocations(runtime: ConsoleRuntime, now: datetime) -> int:
    """Delete revoked-token entries whose token has expired anyway, so the list on
    ``hw.config`` stays as small as the set of live revoked tokens."""
    pruned = 0
    for entry in runtime.config.entries(REVOKED_KIND):
        try:
            expires = datetime.fromisoformat(entry.data["expires"])
        except (KeyError, TypeError, ValueError):
            continue
        if expires >= now:
            continue
        await runtime.publisher.publish(
            kind=REVOKED_KIND,
            tenant=entry.tenant,
            env=None,
            entity_id=entry.id,
            data=entry.data,
            version=entry.version + 1,
            updated_by="api:prune",
            deleted=True,
        )
        pruned += 1
    return pruned


async def refresh(runtime: ConsoleRuntime, refresh_token: str) -> TokenPair:
    """A new pair for a valid refresh token, which is used up (rotation)."""
    claims = runtime.tokens.check(refresh_token, "refresh")
    entry, user = live_user(runtime, claims)
    if not tenant_active(runtime, claims.tenant):
        raise Forbidden(f"tenant {claims.tenant} is suspended or removed")
    await revoke(runtime, claims)
    return _pair(runtime, entry.id, entry.tenant, user.role)
