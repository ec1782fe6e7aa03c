"""Actions as plugins. Each action declares its configuration (JSON Schema), its ports
and whether it has side effects; packages add actions through the ``headwater.actions``
entry-point group, whose entries name an ``ActionSpec`` or a sequence of them (read by
``headwater/adapters/plugins.py``: looking at installed packages is not the core's job).

A side-effect action never performs its effect: it appends an ``OutboundRequest`` to the
run's state, which the profile agent publishes to ``hw.outbound``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from headwater.core.flows.state import FlowState
from headwater.errors import ConfigurationError

__all__ = [
    "ENTRY_POINT_GROUP",
    "ActionCall",
    "ActionRegistry",
    "ActionSpec",
    "Family",
    "Output",
    "builtin_registry",
]

ENTRY_POINT_GROUP = "headwater.actions"
Family = Literal["flow", "data", "profile", "event", "outbound"]
Output = tuple[str, dict[str, Any]]  # (output port, payload sent along its edges)


@dataclass(slots=True)
class ActionCall:
    """One execution of a node: its config, the message that reached it (for a joining
    action, every message), and the run's state."""

    node_id: str
    config: Mapping[str, Any]
    port: str
    payload: dict[str, Any]
    state: FlowState
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def value(self, key: str, default: Any = None) -> Any:
        """A config value, resolved (paths read, templates rendered)."""
        return self.state.resolve(self.config.get(key, default), self.payload)

    def read(self, path: str, default: Any = None) -> Any:
        return self.state.read(path, self.payload, default)

    def write(self, path: str, value: Any) -> None:
        self.state.write(path, value, self.payload)

    def passed(self, port: str = "payload") -> list[Output]:
        return [(port, self.payload)]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    name: str
    family: Family
    description: str
    run: Callable[[ActionCall], list[Output]]
    config_schema: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "additionalProperties": False}
    )
    inputs: tuple[str, ...] = ("payload",)
    outputs: tuple[str, ...] = ("payload",)
    side_effects: bool = False
    joins: bool = False  # run once with every message that reached the node
    # output ports named by the configuration (a switch's cases)
    outputs_from_config: Callable[[Mapping[str, Any]], tuple[str, ...]] | None = None
    # checks beyond JSON Schema (a condition that must parse); returns problems
    check: Callable[[Mapping[str, Any]], list[str]] | None = None

    def output_ports(self, config: Mapping[str, Any]) -> tuple[str, ...]:
        if self.outputs_from_config is not None:
            return self.outputs_from_config(config)
        return self.outputs

    def describe(self) -> dict[str, Any]:
        """What an editor shows about the action."""
        return {
            "name": self.name,
            "family": self.family,
            "description": self.description,
            "config_schema": dict(self.config_schema),
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "side_effects": self.side_effects,
        }


class ActionRegistry:
    """Actions by name; adding a second action under a taken name is refused."""

    def __init__(self, specs: Iterable[ActionSpec] = ()) -> None:
        self._specs: dict[str, ActionSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ActionSpec) -> None:
        if spec.name in self._specs:
            raise ConfigurationError(f"two actions are named {spec.name!r}")
        self._specs[spec.name] = spec

    def get(self, name: str) -> ActionSpec | None:
        return self._specs.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    def names(self) -> list[str]:
        return sorted(self._specs)

    def specs(self) -> list[ActionSpec]:
        return [self._specs[n] for n in self.names()]


def builtin_registry() -> ActionRegistry:
    """The built-in actions, without looking at installed packages."""
    from headwater.core.flows.actions import BUILTIN_ACTIONS

    return ActionRegistry(BUILTIN_ACTIONS)
