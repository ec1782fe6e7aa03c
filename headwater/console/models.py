"""Request and response bodies of the private API (they make its OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from headwater.core.access import Role
from headwater.core.config import ConfigEntry
from headwater.core.merge_rules import MergeRules
from headwater.core.tenancy import TENANT_ID_PATTERN

__all__ = [
    "ApiKeyCreated",
    "ApiKeyIn",
    "ApiKeyOut",
    "EntityIn",
    "ErrorBody",
    "FieldMappingIn",
    "Health",
    "MappingIn",
    "MappingOut",
    "Me",
    "MergeRulesIn",
    "MergeRulesOut",
    "PageOut",
    "RefreshIn",
    "SourceIn",
    "SourceOut",
    "TenantIn",
    "TenantOut",
    "TokenOut",
    "UserIn",
    "UserOut",
    "UserPatch",
]

_ID = r"^[A-Za-z0-9_.:-]{1,128}$"


class ErrorBody(BaseModel):
    error: str
    field: str | None = None


class Health(BaseModel):
    status: Literal["ok"]
    config: bool
    kafka: bool


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    tenant: str
    role: Role


class RefreshIn(BaseModel):
    refresh_token: SecretStr


class LogoutIn(BaseModel):
    refresh_token: SecretStr | None = None


class Me(BaseModel):
    tenant: str
    subject: str
    role: Role
    via: Literal["token", "key"]
    email: str | None = None


class Versioned(BaseModel):
    """Who changed an entity last, and when; ``version`` grows with every change."""

    version: int
    updated_at: datetime
    updated_by: str


class UserIn(BaseModel):
    email: str = Field(max_length=254)
    role: Role
    password: SecretStr


class UserPatch(BaseModel):
    role: Role | None = None
    disabled: bool | None = None
    password: SecretStr | None = None


class UserOut(Versioned):
    id: str
    email: str
    role: Role
    disabled: bool

    @classmethod
    def of(cls, entry: ConfigEntry) -> UserOut:
        return cls(
            id=entry.id,
            email=entry.data["email"],
            role=entry.data["role"],
            disabled=bool(entry.data.get("disabled", False)),
            version=entry.version,
            updated_at=entry.updated_at,
            updated_by=entry.updated_by,
        )


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    role: Role


class ApiKeyOut(Versioned):
    id: str
    name: str
    role: Role

    @classmethod
    def of(cls, entry: ConfigEntry) -> ApiKeyOut:
        return cls(
            id=entry.id,
            name=entry.data["name"],
            role=entry.data["role"],
            version=entry.version,
            updated_at=entry.updated_at,
            updated_by=entry.updated_by,
        )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="send as x-api-key; shown once, never stored")


class EntityIn(BaseModel):
    """What every configuration entity's body shares."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        default=None, description="the version being replaced; 409 when it changed meanwhile"
    )


class SourceIn(EntityIn):
    name: str = Field(default="", max_length=256)
    type: str = Field(default="rest", max_length=64)
    enabled: bool = True
    channels: list[Literal["track", "collect"]] = ["track", "collect"]


class SourceOut(Versioned):
    id: str
    env: str
    name: str
    type: str
    enabled: bool
    channels: list[str]

    @classmethod
    def of(cls, entry: ConfigEntry) -> SourceOut:
        data = entry.data
        return cls(
            id=entry.id,
            env=entry.env or "",
            name=data.get("name", ""),
            type=data.get("type", "rest"),
            enabled=bool(data.get("enabled", True)),
            channels=sorted(data.get("channels", ["track", "collect"])),
            version=entry.version,
            updated_at=entry.updated_at,
            updated_by=entry.updated_by,
        )


class FieldMappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(pattern=r"^(properties|context)\.[^.]+(\.[^.]+)*$", max_length=256)
    target: str = Field(
        pattern=r"^(traits|data|consents|interests)\.[^.]+(\.[^.]+)*$", max_length=256
    )
    op: Literal["equals", "append", "equals_if_not_exists"] = "equals"


class MappingIn(EntityIn):
    """Event-to-profile mapping: copy event fields into the profile (``core/mapping.py``)."""

    event_type: str = Field(min_length=1, max_length=128)
    source_id: str | None = Field(default=None, description="only events of this source")
    merge_traits: bool = False
    fields: list[FieldMappingIn] = Field(default_factory=list, max_length=200)


class MappingOut(Versioned):
    id: str
    env: str
    event_type: str
    source_id: str | None
    merge_traits: bool
    fields: list[FieldMappingIn]

    @classmethod
    def of(cls, entry: ConfigEntry) -> MappingOut:
        return cls(
            id=entry.id,
            env=entry.env or "",
            version=entry.version,
            updated_at=entry.updated_at,
            updated_by=entry.updated_by,
            event_type=entry.data["event_type"],
            source_id=entry.data.get("source_id"),
            merge_traits=bool(entry.data.get("merge_traits", False)),
            fields=[FieldMappingIn.model_validate(f) for f in entry.data.get("fields", [])],
        )


class MergeRulesIn(EntityIn, MergeRules):
    """Merge keys and strategies (``core/merge_rules.py``), one set per tenant and context."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class MergeRulesOut(Versioned, MergeRules):
    model_config = ConfigDict(frozen=False)

    id: str
    env: str

    @classmethod
    def of(cls, entry: ConfigEntry) -> MergeRulesOut:
        return cls(
            id=entry.id,
            env=entry.env or "",
            version=entry.version,
            updated_at=entry.updated_at,
            updated_by=entry.updated_by,
            **entry.data,
        )


class TenantIn(BaseModel):
    id: str = Field(pattern=TENANT_ID_PATTERN)
    name: str = Field(min_length=1, max_length=256)
    admin_email: str = Field(max_length=254)
    admin_password: SecretStr


class TenantOut(Versioned):
    id: str
    name: str
    status: Literal["active", "suspended"]
    admin_id: str | None = None
    sources: dict[str, str] = {}

    @classmethod
    def of(cls, entry: ConfigEntry, **extra: Any) -> TenantOut:
        return cls(
            id=entry.id,
            name=entry.data.get("name", entry.id),
            status=entry.data.get("status", "active"),
            version=entry.version,
            updated_at=entry.updated_at,
            updated_by=entry.updated_by,
            **extra,
        )


class PageOut(BaseModel):
    total: int
    items: list[dict[str, Any]]
    next: str | None = Field(description="pass as ?after= for the next page; null on the last")


SOURCE_ID_PATTERN = _ID
