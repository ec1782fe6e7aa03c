"""Request and response bodies of the private API (they make its OpenAPI document)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from headwater.core.access import Role
from headwater.core.config import ConfigEntry
from headwater.core.sources import key_prefix, write_key_id
from headwater.core.tenancy import TENANT_ID_PATTERN
from headwater.core.webhook_signatures import SignatureScheme

__all__ = [
    "ApiKeyCreated",
    "ApiKeyIn",
    "ApiKeyOut",
    "DefinitionOut",
    "EntityIn",
    "ErrorBody",
    "EventTypeIn",
    "EventTypeOut",
    "FieldMappingIn",
    "Health",
    "MappingIn",
    "MappingOut",
    "Me",
    "MergeKeyIn",
    "MergeSettingsIn",
    "MergeSettingsOut",
    "PageOut",
    "RateLimitIn",
    "RefreshIn",
    "SigningSecretIn",
    "SigningSecretOut",
    "SourceIn",
    "SourceOut",
    "TenantChoiceOut",
    "TenantIn",
    "TenantOut",
    "TokenOut",
    "UserIn",
    "UserOut",
    "UserPatch",
    "WriteKeyIn",
    "WriteKeyOut",
    "WriteKeyRef",
]

_ID = r"^[A-Za-z0-9_.:-]{1,128}$"


class ErrorBody(BaseModel):
    error: str
    field: str | None = None


class TenantChoiceOut(ErrorBody):
    """A login whose password opens the email in several tenants: send one as ``tenant``."""

    tenants: list[str]


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


class DefinitionOut(Versioned):
    """A configuration entity whose stored data is its own fields (mappings, event types,
    flows, rules, segments): built from the entry with the model's defaults."""

    id: str
    env: str

    @classmethod
    def of(cls, entry: ConfigEntry) -> Self:
        return cls.model_validate(
            {
                **entry.data,
                "id": entry.id,
                "env": entry.env or "",
                "version": entry.version,
                "updated_at": entry.updated_at,
                "updated_by": entry.updated_by,
            }
        )


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


class RateLimitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events_per_second: float = Field(gt=0, le=1_000_000)
    burst: int = Field(ge=1, le=10_000_000)


class SourceIn(EntityIn):
    """An event source. Write keys are not part of it: the server issues them
    (``POST /sources`` gives one, ``/write-keys`` adds and revokes)."""

    name: str = Field(default="", max_length=256)
    type: str = Field(default="rest", max_length=64)
    enabled: bool = True
    channels: list[Literal["track", "collect", "segment", "redirect"]] = [
        "track",
        "collect",
        "segment",
        "redirect",
    ]
    rate_limit: RateLimitIn | None = Field(default=None, description="null: the default")
    signature: SignatureScheme | None = Field(
        default=None,
        description="set: /collect requests must carry this HMAC signature (the secret is "
        "set per context with POST /sources/{id}/signing-secret); null: not signed",
    )


class SigningSecretIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=512,
        description="the sender's secret (Stripe's whsec_..., Shopify's client secret); "
        "null: the server makes one, shown in this answer only",
    )
    keep_previous_seconds: int = Field(
        default=0,
        ge=0,
        le=7 * 24 * 3600,
        description="how long the secrets this one replaces still pass (0: not at all)",
    )


class SigningSecretOut(BaseModel):
    id: str
    secret: str | None = Field(
        default=None,
        description="the secret the server made: only in the answer that made it; null "
        "when the caller gave it, and on every read",
    )
    created_at: datetime | None
    expires_at: datetime | None = Field(description="null: until replaced")

    @classmethod
    def of(cls, stored: dict[str, Any], *, reveal: str | None = None) -> SigningSecretOut:
        return cls(
            id=str(stored["id"]),
            secret=reveal,
            created_at=stored.get("created_at"),
            expires_at=stored.get("expires_at"),
        )


class WriteKeyOut(BaseModel):
    id: str = Field(description="names the key for revoke and rotate")
    key: str | None = Field(
        description="the key itself: only in the answer that issued it, null on every read"
    )
    hint: str = Field(description="the key's first characters, to tell keys apart")
    name: str
    revoked: bool

    @classmethod
    def of(cls, stored: dict[str, Any], *, reveal: bool = False) -> WriteKeyOut:
        key = str(stored["key"])
        return cls(
            id=write_key_id(key),
            key=key if reveal else None,
            hint=key_prefix(key),
            name=stored.get("name", ""),
            revoked=bool(stored.get("revoked", False)),
        )


class WriteKeyIn(BaseModel):
    name: str = Field(default="", max_length=128)


class WriteKeyRef(BaseModel):
    """One of a source's write keys, by its id or by the key itself."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, max_length=64)
    key: str | None = Field(default=None, min_length=8, max_length=256)

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.id is None) == (self.key is None):
            raise ValueError("name the write key by 'id' or by 'key' (one of them)")
        return self

    def matches(self, stored: dict[str, Any]) -> bool:
        key = str(stored.get("key", ""))
        return (self.key is not None and key == self.key) or (
            self.id is not None and write_key_id(key) == self.id
        )


class SourceOut(Versioned):
    id: str
    env: str
    name: str
    type: str
    enabled: bool
    channels: list[str]
    rate_limit: RateLimitIn | None
    write_keys: list[WriteKeyOut]
    signature: SignatureScheme | None = None
    signing_secrets: list[SigningSecretOut] = Field(
        default=[], description="this context's signing secrets, never their values"
    )
    default: bool = Field(default=False, description="the tenant's default source (made by init)")

    @classmethod
    def issued(cls, before: ConfigEntry | None, after: ConfigEntry) -> SourceOut:
        """The answer to a write that may issue keys (create, deploy, rollback): the keys
        it issued are shown, this once."""
        known = {k["key"] for k in before.data.get("write_keys", [])} if before else set()
        fresh = {k["key"] for k in after.data.get("write_keys", [])} - known
        return cls.of(after, reveal=fresh)

    @classmethod
    def of(cls, entry: ConfigEntry, *, reveal: Collection[str] = ()) -> SourceOut:
        """Write keys masked, but for those named in ``reveal``."""
        data = entry.data
        return cls(
            id=entry.id,
            env=entry.env or "",
            name=data.get("name", ""),
            type=data.get("type", "rest"),
            enabled=bool(data.get("enabled", True)),
            channels=sorted(data.get("channels", ["track", "collect"])),
            rate_limit=data.get("rate_limit"),
            default=bool(data.get("default", False)),
            write_keys=[
                WriteKeyOut.of(k, reveal=k["key"] in reveal) for k in data.get("write_keys", [])
            ],
            signature=data.get("signature"),
            signing_secrets=[SigningSecretOut.of(s) for s in data.get("signing_secrets", [])],
            version=entry.version,
            updated_at=entry.updated_at,
            updated_by=entry.updated_by,
        )


PROFILE_PATH = r"^(traits|data)\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"


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


class MappingOut(DefinitionOut):
    event_type: str
    source_id: str | None = None
    merge_traits: bool = False
    fields: list[FieldMappingIn] = Field(default_factory=list)


class EventTypeIn(EntityIn):
    """Validation and reshaping of one event type (``core/validation.py``)."""

    event_type: str = Field(min_length=1, max_length=128)
    source_id: str | None = Field(default=None, description="only events of this source")
    moves: dict[str, str] = Field(
        default_factory=dict,
        description="target path under properties. <- source path under properties. or "
        "context.; applied before validation",
        max_length=100,
    )
    json_schema: dict[str, Any] | None = Field(
        default=None, description="JSON Schema (draft 2020-12) the properties must match"
    )


class EventTypeOut(DefinitionOut):
    event_type: str
    source_id: str | None = None
    moves: dict[str, str] = Field(default_factory=dict)
    json_schema: dict[str, Any] | None = None


class MergeKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    path: str = Field(pattern=PROFILE_PATH, max_length=256)
    unique: bool = False
    kind: Literal["email", "phone", "id", "text"] = "text"


class MergeSettingsIn(EntityIn):
    """Merge keys, guards and strategies (``core/identity.py``): one set per tenant and
    context, read by the profile and identity agents."""

    keys: list[MergeKeyIn] = Field(min_length=1, max_length=20)
    blocked: list[str] | None = Field(default=None, max_length=500)
    max_merges: int = Field(default=50, ge=1, le=10_000)
    strategies: dict[str, str] = Field(default_factory=dict, max_length=500)
    default_strategy: str = "last_update"


class MergeSettingsOut(Versioned):
    env: str
    keys: list[MergeKeyIn]
    blocked: list[str] | None
    max_merges: int
    strategies: dict[str, str]
    default_strategy: str

    @classmethod
    def of(cls, entry: ConfigEntry) -> MergeSettingsOut:
        data = entry.data
        return cls(
            env=entry.env or "",
            keys=[MergeKeyIn.model_validate(k) for k in data.get("keys", [])],
            blocked=data.get("blocked"),
            max_merges=int(data.get("max_merges", 50)),
            strategies=dict(data.get("strategies", {})),
            default_strategy=str(data.get("default_strategy", "last_update")),
            version=entry.version,
            updated_at=entry.updated_at,
            updated_by=entry.updated_by,
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
    write_keys: dict[str, str] = Field(
        default_factory=dict,
        description="env -> write key of a default source this call made: shown this once",
    )

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
    context: str = Field(description="the context searched: staging or production")
    hint: str | None = Field(
        default=None, description="when nothing matched: what the other context has"
    )


SOURCE_ID_PATTERN = _ID
