"""Users, API keys and revoked tokens as configuration entities, and the rules on them.

Users and keys belong to one tenant and travel on the config topic like any other
entity (``env`` is ``None``: they serve both environments). Only password hashes and
key digests are stored, never the secrets themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from headwater.core.access import Role
from headwater.core.config import ConfigEntry
from headwater.core.ids import new_id
from headwater.errors import InvalidInput

__all__ = [
    "API_KEY_KIND",
    "MIN_PASSWORD_LENGTH",
    "REVOKED_KIND",
    "USER_KIND",
    "ApiKeyRecord",
    "UserRecord",
    "check_password_policy",
    "format_api_key",
    "key_digest",
    "keys_match",
    "new_user_id",
    "normalise_email",
    "split_api_key",
    "users_with_email",
    "with_token_generation",
]

USER_KIND = "user"
API_KEY_KIND = "apikey"
REVOKED_KIND = "revoked-token"
MIN_PASSWORD_LENGTH = 12
API_KEY_PREFIX = "hwk."

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# What a user's tokens stand for: a change to any of these revokes every token issued before.
_TOKEN_BOUND = {"password_hash": None, "role": None, "disabled": False}  # name: default


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email) or len(email) > 254:
        raise InvalidInput("not an email address", field="email")
    return email


def new_user_id() -> str:
    """Random, new for every creation: a user deleted and made again with the same email
    is another user, and no token of the first names the second."""
    return new_id()


def users_with_email(
    entries: Iterable[ConfigEntry], email: str, tenant: str | None = None
) -> list[ConfigEntry]:
    """The user entities with this (normalised) email, of ``tenant`` or of every tenant,
    ordered by tenant."""
    found = [
        e
        for e in entries
        if e.kind == USER_KIND
        and not e.deleted
        and e.data.get("email") == email
        and (tenant is None or e.tenant == tenant)
    ]
    return sorted(found, key=lambda e: (e.tenant, e.id))


def with_token_generation(before: Mapping[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``after`` with the token generation moved on when the password, role or status
    changed, so every token issued before the change stops working."""
    generation = int(before.get("token_generation", 0))
    if any(before.get(k, d) != after.get(k, d) for k, d in _TOKEN_BOUND.items()):
        generation += 1
    return {**after, "token_generation": generation}


def check_password_policy(password: str, email: str | None = None) -> None:
    """Length over composition rules (NIST SP 800-63B), and not the email itself."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if len(password) > 1024:
        raise InvalidInput("password is too long", field="password")
    if email is not None and password.strip().lower() == email.strip().lower():
        raise InvalidInput("password must not be the email address", field="password")


class UserRecord(BaseModel):
    """What a user entity's ``data`` holds."""

    model_config = ConfigDict(frozen=True)

    email: str
    role: Role
    password_hash: str = Field(repr=False)
    disabled: bool = False
    token_generation: int = 0  # tokens carry it; a change to the user moves it on


class ApiKeyRecord(BaseModel):
    """What an API key entity's ``data`` holds: a digest of the secret, never the secret."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role
    digest: str = Field(repr=False)
    disabled: bool = False


def key_digest(secret: str) -> str:
    # Key secrets are 32 random bytes, so a fast hash is enough (no dictionary to guess
    # from) and keeps per-request checks cheap; passwords use argon2 instead.
    return hashlib.sha256(secret.encode()).hexdigest()


def keys_match(secret: str, digest: str) -> bool:
    return hmac.compare_digest(key_digest(secret), digest)


def format_api_key(tenant: str, key_id: str, secret: str) -> str:
    """What a machine client sends in ``x-api-key``; the tenant in it picks where to look."""
    return f"{API_KEY_PREFIX}{tenant}.{key_id}.{secret}"


def split_api_key(value: str) -> tuple[str, str, str] | None:
    """``hwk.<tenant>.<key id>.<secret>`` -> (tenant, key id, secret); None otherwise."""
    if not value.startswith(API_KEY_PREFIX):
        return None
    parts = value[len(API_KEY_PREFIX) :].split(".")
    if len(parts) != 3 or not all(parts):
        return None
    tenant, key_id, secret = parts
    return tenant, key_id, secret
