"""Tenants, environments and the names of the things that belong to them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from headwater.core.config import config_key
from headwater.errors import InvalidInput

__all__ = [
    "ENVIRONMENTS",
    "GENERATION_KIND",
    "TENANT_ID_PATTERN",
    "TENANT_KIND",
    "Tenant",
    "check_tenant_id",
    "events_alias",
    "events_index",
    "events_index_pattern",
    "generation_index",
    "generation_key",
    "identity_key",
    "key_owner",
    "merges_alias",
    "profile_key",
    "profiles_alias",
    "sessions_alias",
    "tenant_key",
]

ENVIRONMENTS: tuple[str, ...] = ("production", "staging")
TENANT_KIND = "tenant"  # config entity: tenant=<id>, env=None, id=<id>
# Config entity naming the index generation the aliases of a tenant and env point at.
GENERATION_KIND = "index-generation"
TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9_]{0,31}$"
_TENANT_ID = re.compile(r"[a-z0-9][a-z0-9_]{0,31}")


class Tenant(BaseModel):
    """A customer of the platform; its data, configuration and users are isolated."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=TENANT_ID_PATTERN)
    name: str
    status: Literal["active", "suspended"] = "active"


def tenant_key(tenant: str) -> str:
    """Config key of a tenant's own record."""
    return config_key(TENANT_KIND, tenant, None, tenant)


def check_tenant_id(tenant: str) -> str:
    """Tenant ids appear in index names, so they are lowercase and have no dashes."""
    if not _TENANT_ID.fullmatch(tenant):
        raise InvalidInput(f"tenant id must match {TENANT_ID_PATTERN}", field="tenant")
    return tenant


def profile_key(tenant: str, env: str, profile_id: str) -> bytes:
    """The message key of everything about one profile (intake, operations, outputs) and
    its key in the profile table: tenant and environment are part of it, so the same
    profile id in staging and production is two profiles, never one state."""
    return f"{tenant}:{env}:{profile_id}".encode()


def identity_key(tenant: str, env: str, identifier: str) -> bytes:
    """The message key of a claim on one identifier (``<key name>:<hash>``): every claim
    on it goes to one identity agent, which decides them in log order."""
    return f"{tenant}/{env}:{identifier}".encode()


def key_owner(key: bytes | None) -> tuple[str, str] | None:
    """The tenant and environment a message key names: ``tenant:env:profile`` (see
    :func:`profile_key`) or ``tenant/env:identifier`` (identity claims); None for a key
    that names neither, so nothing is ever attributed to a tenant by a guess."""
    if not key:
        return None
    try:
        text = key.decode()
    except UnicodeDecodeError:
        return None
    head, colon, rest = text.partition(":")
    if not colon:
        return None
    if "/" in head:
        tenant, _, env = head.partition("/")
    else:
        tenant, env = head, rest.partition(":")[0]
        if ":" not in rest:
            return None
    if not _TENANT_ID.fullmatch(tenant) or env not in ENVIRONMENTS:
        return None
    return tenant, env


def events_alias(prefix: str, tenant: str, env: str) -> str:
    """The alias that reads every monthly events index of one tenant and environment."""
    return f"{prefix}-{tenant}-{env}-events"


def profiles_alias(prefix: str, tenant: str, env: str) -> str:
    return f"{prefix}-{tenant}-{env}-profiles"


def sessions_alias(prefix: str, tenant: str, env: str) -> str:
    return f"{prefix}-{tenant}-{env}-sessions"


def merges_alias(prefix: str, tenant: str, env: str) -> str:
    """Merge decisions and refusals of the identity agent (an audit log, never rebuilt)."""
    return f"{prefix}-{tenant}-{env}-merges"


def generation_index(alias: str, generation: int = 1) -> str:
    """Profiles and sessions live in one index per generation behind their alias; a
    rebuild (``headwater replay``) writes the next generation and moves the alias."""
    return f"{alias}-{generation:06d}"


def generation_key(tenant: str, env: str) -> str:
    """Config key of the live index generation of one tenant and environment."""
    return config_key(GENERATION_KIND, tenant, env, "search")


def events_index_pattern(prefix: str, tenant: str, env: str) -> str:
    return f"{events_alias(prefix, tenant, env)}-*"


def events_index(
    prefix: str, tenant: str, env: str, received: datetime, generation: int = 1
) -> str:
    """Monthly index an event is written to, by the time the platform received it.

    Received time (not client time) is stored in the intake record, so a redelivered
    or replayed event always lands in the same index, and a client clock cannot
    create indices far in the past or future. Generations after the first (rebuilt by
    a replay) carry their number before the month.
    """
    alias = events_alias(prefix, tenant, env)
    if generation == 1:
        return f"{alias}-{received:%Y.%m}"
    return f"{alias}-{generation:06d}-{received:%Y.%m}"
