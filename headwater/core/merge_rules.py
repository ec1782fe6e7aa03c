"""Merge keys and per-field strategies as configuration (read by the identity agent).

Pure data and checks: which profile fields identify a person, how conflicting values are
resolved when two profiles merge, and the guards users of other CDPs ask for.
"""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["DEFAULT_BLOCKED_VALUES", "MERGE_RULES_KIND", "MergeRules", "Strategy"]

MERGE_RULES_KIND = "merge-rules"
Strategy = Literal["last_update", "first_update", "sum", "max", "min", "union"]
DEFAULT_BLOCKED_VALUES = ("", "null", "none", "undefined", "anonymous", "0", "unknown")
_PATH = r"^(traits|data)\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"


class MergeRules(BaseModel):
    """``keys``: profile paths whose equal (normalised) values mean one person.
    ``strategies``: how a field's values combine on a merge; ``default`` for the rest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    keys: list[str] = Field(min_length=1, max_length=20)
    unique_keys: list[str] = Field(
        default_factory=list,
        description="keys a person has one value of: two profiles with different values "
        "of one of these are never merged",
    )
    strategies: dict[str, Strategy] = Field(default_factory=dict, max_length=500)
    default: Strategy = "last_update"
    blocked_values: list[str] = Field(default_factory=lambda: list(DEFAULT_BLOCKED_VALUES))
    max_merges_per_profile: int = Field(default=100, ge=1, le=10_000)

    @field_validator("keys", "unique_keys")
    @classmethod
    def _paths(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if not re.fullmatch(_PATH, path):
                raise ValueError(f"{path!r} is not a profile path under traits. or data.")
        if len(set(paths)) != len(paths):
            raise ValueError("paths are listed twice")
        return paths

    @field_validator("strategies")
    @classmethod
    def _strategy_paths(cls, strategies: dict[str, Strategy]) -> dict[str, Strategy]:
        cls._paths(list(strategies))
        return strategies

    @model_validator(mode="after")
    def _unique_keys_are_keys(self) -> Self:
        stray = set(self.unique_keys) - set(self.keys)
        if stray:
            raise ValueError(f"unique keys must also be keys: {sorted(stray)}")
        return self
