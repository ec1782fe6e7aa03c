"""Users, API keys and revoked tokens as configuration entities, and the rules on them.

Users and keys belong to one tenant and travel on the config topic like any other
entity (``env`` is ``None``: they serve both environments). Only password hashes and
key digests are stored, never the secrets themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid

from pydantic import BaseModel, ConfigDict, Field

from headwater.core.access import Role
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
    "normalise_email",
    "split_api_key",
    "user_id_for",
]

USER_KIND = "user"
API_KEY_KIND = "apikey"
REVOKED_KIND = "revoked-token"
MIN_PASSWORD_LENGTH = 12
API_KEY_PREFIX = "hwk."

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_USER_NS = uuid.UUID("0d6b8a9e-52f1-4c0f-8f0e-6f3a3b9b2c41")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.fullmatch(email) or len(email) > 254:
        raise InvalidInput("not an email address", field="email")
    return email


def user_id_for(tenant: str, email: str) -> str:
    """A user's id follows from tenant and email, so creating one twice is a no-op."""
    return str(uuid.uuid5(_USER_NS, f"{tenant}/{normalise_email(email)}"))


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
