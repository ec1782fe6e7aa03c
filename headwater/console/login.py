"""Password login, token refresh and revocation: the rules behind ``/user/token``."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime

from headwater.console.auth import live_user, tenant_active, token_revoked
from headwater.console.runtime import ConsoleRuntime
from headwater.console.tokens import Claims, TokenKind
from headwater.core.access import Role
from headwater.core.accounts import (
    REVOKED_KIND,
    USER_KIND,
    UserRecord,
    normalise_email,
    users_with_email,
)
from headwater.core.config import ConfigEntry, config_key
from headwater.errors import Conflict, Forbidden, InvalidInput, TooManyAttempts, Unauthenticated

__all__ = [
    "TenantChoiceNeeded",
    "TokenPair",
    "accounts_for",
    "login",
    "prune_revocations",
    "refresh",
    "revoke",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenPair:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    tenant: str
    role: Role


_PAIR: tuple[TokenKind, TokenKind] = ("access", "refresh")


class TenantChoiceNeeded(Conflict):
    """The password opens accounts of several tenants: the caller names one."""

    def __init__(self, tenants: list[str]) -> None:
        super().__init__(
            "this email and password belong to several tenants: send one as 'tenant'",
            field="tenant",
        )
        self.tenants = tenants


Account = tuple[ConfigEntry, UserRecord]


def accounts_for(runtime: ConsoleRuntime, email: str, tenant: str | None) -> list[Account]:
    """The accounts with this email: of ``tenant``, or of every tenant when it is None."""
    try:
        email = normalise_email(email)
    except InvalidInput:
        return []
    found = users_with_email(runtime.config.entries(USER_KIND), email, tenant)
    return [(e, UserRecord.model_validate(e.data)) for e in found]


def _pair(runtime: ConsoleRuntime, entry: ConfigEntry, user: UserRecord) -> TokenPair:
    tokens = [
        runtime.tokens.issue(
            subject=entry.id,
            tenant=entry.tenant,
            role=user.role,
            kind=kind,
            generation=user.token_generation,
        )
        for kind in _PAIR
    ]
    access, fresh = tokens
    return TokenPair(
        access.token, fresh.token, runtime.tokens.access_seconds, entry.tenant, user.role
    )


async def _matching(
    runtime: ConsoleRuntime, accounts: list[Account], password: str
) -> list[Account]:
    """The enabled accounts the password opens; one hash check per account (a decoy
    check when there is none, so an unknown email costs as much as a known one)."""
    if not accounts:
        await runtime.passwords.verify_async(None, password)
        return []
    return [
        (entry, user)
        for entry, user in accounts
        if await runtime.passwords.verify_async(user.password_hash, password) and not user.disabled
    ]


def _choose(runtime: ConsoleRuntime, matched: list[Account]) -> Account:
    """The one account to log in to; the tenants to choose from when several (active)
    ones match. An email belongs to each tenant that made it a user, so another tenant
    reusing the email never locks its first owner out."""
    if len(matched) > 1:
        active = [m for m in matched if tenant_active(runtime, m[0].tenant)]
        if len(active) > 1:
            raise TenantChoiceNeeded([entry.tenant for entry, _ in active])
        matched = active or matched
    return matched[0]


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
    accounts = accounts_for(runtime, username, tenant)
    matched = await _matching(runtime, accounts, password)
    if not matched:
        runtime.logins.failed(account, runtime.clock())
        known = ", ".join(f"user {e.id}" for e, _ in accounts) or "unknown account"
        log.info("login refused (%s)", known)
        raise Unauthenticated("wrong email or password")
    runtime.logins.succeeded(account)
    entry, user = _choose(runtime, matched)
    if not tenant_active(runtime, entry.tenant):
        raise Forbidden(f"tenant {entry.tenant} is suspended or removed")
    log.info("login: user %s of tenant %s", entry.id, entry.tenant)
    return _pair(runtime, entry, user)


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
    return _pair(runtime, entry, user)
