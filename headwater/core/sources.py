"""Event sources: where events come from, and whether they may come in."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from headwater.core.tenancy import TENANT_ID_PATTERN
from headwater.errors import SourceForbidden

__all__ = ["SOURCE_KIND", "Channel", "EventSource", "default_source_id"]

SOURCE_KIND = "source"
Channel = Literal["track", "collect"]

# Fixed namespace so the default source id is the same on every run of init.
_DEFAULT_SOURCE_NS = uuid.UUID("6a1f3c52-2b0e-4d0e-9a55-2f5c1e0b7d10")


def default_source_id(tenant: str, env: str) -> str:
    return str(uuid.uuid5(_DEFAULT_SOURCE_NS, f"{tenant}/{env}/default-source"))


class EventSource(BaseModel):
    """A configured entry point for events; its id is what trackers send as ``source.id``."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=128)
    tenant: str = Field(pattern=TENANT_ID_PATTERN)
    env: Literal["production", "staging"]
    name: str = ""
    type: str = "rest"
    enabled: bool = True
    channels: frozenset[str] = frozenset({"track", "collect"})

    def admit(self, channel: str) -> None:
        """Raise unless this source may take events through ``channel``."""
        if not self.enabled:
            raise SourceForbidden(f"event source {self.id} is disabled", field="source.id")
        if channel not in self.channels:
            raise SourceForbidden(
                f"event source {self.id} does not accept the {channel!r} channel",
                field="source.id",
            )
