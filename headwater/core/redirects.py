"""Tracked links: ``GET /redirect/{id}`` records a click and sends the visitor on."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["REDIRECT_KIND", "Redirect"]

REDIRECT_KIND = "redirect"


class Redirect(BaseModel):
    """A configured link (config kind ``redirect``): where it goes, which source records
    its clicks, as what event."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1, max_length=128)
    url: str = Field(min_length=1, max_length=4096)
    source_id: str = Field(min_length=1, max_length=128)
    event_type: str = Field(default="redirect", min_length=1, max_length=128)
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _web_address(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("url must be an absolute http(s) address")
        return url

    def click_properties(self, query: dict[str, Any]) -> dict[str, Any]:
        """What the click event carries: the link, its configured properties, and the
        query string the visitor came with (campaign parameters)."""
        return {**query, **self.properties, "redirect": {"id": self.id, "url": self.url}}
