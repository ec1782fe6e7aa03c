"""Configuration entities as they travel on the compacted config topic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["ConfigEntry", "config_key"]


def config_key(kind: str, tenant: str, env: str | None, entity_id: str) -> str:
    """Compaction key: one live record per entity and environment."""
    return f"{kind}/{tenant}/{env or '*'}/{entity_id}"


class ConfigEntry(BaseModel):
    """One version of one configuration entity (event source, tenant, ...)."""

    model_config = ConfigDict(frozen=True)

    kind: str
    tenant: str
    env: str | None
    id: str
    version: int
    deleted: bool = False
    data: dict[str, Any]
    updated_at: datetime
    updated_by: str

    @property
    def key(self) -> str:
        return config_key(self.kind, self.tenant, self.env, self.id)
