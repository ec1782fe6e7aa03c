"""The actions installed packages declare through the ``headwater.actions`` entry-point
group (Headwater's built-ins are declared the same way, in pyproject.toml); each entry
names an ``ActionSpec`` or a sequence of them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any

from headwater.core.flows.registry import ENTRY_POINT_GROUP, ActionRegistry, ActionSpec
from headwater.errors import ConfigurationError

__all__ = ["registry_from_entry_points"]


def _specs_of(loaded: Any, origin: str) -> list[ActionSpec]:
    if isinstance(loaded, ActionSpec):
        return [loaded]
    if isinstance(loaded, Iterable) and not isinstance(loaded, str | bytes | Mapping):
        items = list(loaded)
        if all(isinstance(item, ActionSpec) for item in items):
            return items
    raise ConfigurationError(f"entry point {origin} is not an ActionSpec or a list of them")


def registry_from_entry_points(group: str = ENTRY_POINT_GROUP) -> ActionRegistry:
    """Every action installed packages declare (Headwater's built-ins are declared the
    same way, in pyproject.toml). Call once at start-up, never per event."""
    registry = ActionRegistry()
    for point in sorted(entry_points(group=group), key=lambda p: p.name):
        for spec in _specs_of(point.load(), f"{point.name} = {point.value}"):
            registry.add(spec)
    return registry
