"""Factories for flow tests: real registries, states and profile documents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from headwater.core.flows import ActionCall, ActionRegistry, builtin_registry
from headwater.core.flows.registry import Output
from headwater.core.flows.state import FlowState
from headwater.core.profiles import Profile

NOW = 1_764_400_000_000  # the event time, epoch ms


@pytest.fixture(scope="session")
def registry() -> ActionRegistry:
    return builtin_registry()


def profile_document(**traits: Any) -> dict[str, Any]:
    profile = Profile.new("acme", "production", "p1")
    profile.traits = dict(traits)
    profile.events = 1
    profile.first_seen = profile.last_seen = NOW
    return profile.snapshot()


def event_document(**properties: Any) -> dict[str, Any]:
    return {"id": "e1", "type": "purchase", "time": NOW, "properties": dict(properties)}


@dataclass
class Ran:
    outputs: list[Output]
    state: FlowState

    @property
    def port(self) -> str:
        (port, _), *_ = self.outputs
        return port

    @property
    def payload(self) -> dict[str, Any]:
        return self.outputs[0][1]


@pytest.fixture
def run_action(registry: ActionRegistry) -> Callable[..., Ran]:
    """Run one action as a node would, after checking its config against its schema."""

    def run(
        name: str,
        config: dict[str, Any] | None = None,
        *,
        payload: dict[str, Any] | None = None,
        event: dict[str, Any] | None = None,
        profile: dict[str, Any] | None = None,
        session: dict[str, Any] | None = None,
        messages: list[tuple[str, dict[str, Any]]] | None = None,
    ) -> Ran:
        spec = registry.get(name)
        assert spec is not None, name
        config = config or {}
        Draft202012Validator(spec.config_schema).validate(config)
        state = FlowState(
            "flow-1",
            event if event is not None else event_document(),
            profile if profile is not None else profile_document(),
            session if session is not None else {"id": "s1", "events": 1},
            NOW,
        )
        payload = payload if payload is not None else {}
        call = ActionCall(
            "n1", config, "payload", payload, state, messages or [("payload", payload)]
        )
        return Ran(spec.run(call), state)

    return run
