"""Event sources: where events come from, and whether they may come in."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from headwater.core.ids import new_id
from headwater.core.tenancy import TENANT_ID_PATTERN
from headwater.core.webhook_signatures import SignatureScheme
from headwater.errors import SourceForbidden

__all__ = [
    "DEFAULT_CHANNELS",
    "DEFAULT_MARK",
    "SOURCE_KIND",
    "Channel",
    "EventSource",
    "RateLimit",
    "SigningSecret",
    "WriteKey",
    "key_prefix",
    "legacy_default_source_id",
    "new_source_id",
    "write_key_id",
]

SOURCE_KIND = "source"
Channel = Literal["track", "collect", "segment", "redirect"]
DEFAULT_CHANNELS = ("track", "collect", "segment", "redirect")

# Marks the source provisioning made for a tenant and environment, so running it again
# finds that source instead of making another.
DEFAULT_MARK = "default"


def new_source_id() -> str:
    """A random source id. A source id is all ``/track`` and ``/collect`` need, so it
    must never follow from anything public (tenant name, environment)."""
    return new_id()


_LEGACY_NS = uuid.UUID("6a1f3c52-2b0e-4d0e-9a55-2f5c1e0b7d10")


def legacy_default_source_id(tenant: str, env: str) -> str:
    """The id releases before random ids gave a default source: anyone could compute it.
    Kept only so ``init`` can name such sources for the operator to retire."""
    return str(uuid.uuid5(_LEGACY_NS, f"{tenant}/{env}/default-source"))


def write_key_id(key: str) -> str:
    """What names a write key once it has been shown: follows from the key, gives
    nothing of it away (a digest), so keys stored before ids existed have one too."""
    return "wk_" + hashlib.sha256(key.encode()).hexdigest()[:12]


def key_prefix(key: str) -> str:
    """What logs and error messages may show of a write key (it is a secret)."""
    return key[:6] + "..."


class WriteKey(BaseModel):
    """A secret that SDKs send to name their event source (Segment's ``writeKey``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    key: str = Field(min_length=8, max_length=256)
    revoked: bool = False
    name: str = ""


class RateLimit(BaseModel):
    """Token bucket: ``events_per_second`` refill, up to ``burst`` events at once."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    events_per_second: float = Field(gt=0)
    burst: int = Field(ge=1)


class SigningSecret(BaseModel):
    """A secret signed webhooks are checked with, sealed (``infra/secrets.py``): it
    belongs to one environment, like write keys. ``expires_at`` ends a replaced secret's
    grace period (None: valid until replaced)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    sealed: str = Field(repr=False)
    created_at: datetime | None = None
    expires_at: datetime | None = None


class EventSource(BaseModel):
    """A configured entry point for events; its id is what trackers send as ``source.id``."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=128)
    tenant: str = Field(pattern=TENANT_ID_PATTERN)
    env: Literal["production", "staging"]
    name: str = ""
    type: str = "rest"
    enabled: bool = True
    channels: frozenset[str] = frozenset(DEFAULT_CHANNELS)
    write_keys: tuple[WriteKey, ...] = ()
    rate_limit: RateLimit | None = None  # None: the collector's default
    signature: SignatureScheme | None = None  # set: /collect requests must be signed
    signing_secrets: tuple[SigningSecret, ...] = ()

    def live_signing_secrets(self, now: datetime) -> list[SigningSecret]:
        """Signing secrets that still pass (newest first): not past their grace period."""
        live = [s for s in self.signing_secrets if s.expires_at is None or s.expires_at > now]
        return live[::-1]

    @property
    def live_keys(self) -> list[str]:
        """Write keys that still authenticate (not revoked)."""
        return [k.key for k in self.write_keys if not k.revoked]

    def admit(self, channel: str) -> None:
        """Raise unless this source may take events through ``channel``."""
        if not self.enabled:
            raise SourceForbidden(f"event source {self.id} is disabled", field="source.id")
        if self.signature is not None and channel != "collect":
            raise SourceForbidden(
                f"event source {self.id} takes signed webhooks only: POST them to /collect",
                field="source.id",
            )
        if channel not in self.channels:
            raise SourceForbidden(
                f"event source {self.id} does not accept the {channel!r} channel",
                field="source.id",
            )
