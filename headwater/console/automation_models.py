"""Bodies and answers of the automation routes: flows, rules and segments
(``console/routes/automation.py``)."""

from __future__ import annotations

from typing import Any, Self

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from headwater.console.models import DefinitionOut, EntityIn
from headwater.core.config import ConfigEntry
from headwater.core.masking import mask_secrets

__all__ = [
    "MAX_FLOW_BYTES",
    "MAX_NODE_BYTES",
    "FlowDebugIn",
    "FlowIn",
    "FlowOut",
    "RuleIn",
    "RuleOut",
    "SegmentIn",
    "SegmentMembersOut",
    "SegmentOut",
]

MAX_NODE_BYTES = 64 * 1024  # one flow node as JSON
MAX_FLOW_BYTES = 512 * 1024  # a whole flow's nodes as JSON


def _json_within(value: Any, limit: int, what: str) -> None:
    size = len(orjson.dumps(value))
    if size > limit:
        raise ValueError(f"{what} is {size} bytes as JSON, over the {limit}-byte limit")


class FlowIn(EntityIn):
    """A workflow: nodes running actions, edges between their ports (docs/flows.md)."""

    name: str = Field(default="", max_length=200)
    nodes: list[dict[str, Any]] = Field(max_length=500)
    edges: list[dict[str, Any]] = Field(default_factory=list, max_length=2000)

    @field_validator("nodes")
    @classmethod
    def _bounded_nodes(cls, nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for index, node in enumerate(nodes):
            _json_within(node, MAX_NODE_BYTES, f"node {index}")
        _json_within(nodes, MAX_FLOW_BYTES, "the flow's nodes")
        return nodes


class FlowOut(DefinitionOut):
    """A flow as every role reads it: credentials in node configurations masked
    (``core/masking.py``); saving the masks back keeps the stored values."""

    name: str = ""
    nodes: list[dict[str, Any]] = Field(default_factory=list)
    edges: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def of(cls, entry: ConfigEntry) -> Self:
        flow = super().of(entry)
        return flow.model_copy(update={"nodes": mask_secrets(flow.nodes)})


class RuleIn(EntityIn):
    """Runs a flow on an event type (from a source), when a condition holds and the
    profile granted the consents."""

    flow_id: str = Field(min_length=1, max_length=128)
    event_type: str = Field(min_length=1, max_length=128)
    source_id: str | None = None
    condition: str | None = Field(default=None, max_length=4000)
    consents: list[str] = Field(default_factory=list, max_length=20)
    enabled: bool = True


class RuleOut(DefinitionOut):
    flow_id: str
    event_type: str
    source_id: str | None = None
    condition: str | None = None
    consents: list[str] = Field(default_factory=list)
    enabled: bool = True


class SegmentIn(EntityIn):
    """Profiles for which the condition holds (docs/conditions.md)."""

    name: str = Field(default="", max_length=200)
    condition: str = Field(min_length=1, max_length=4000)


class SegmentOut(DefinitionOut):
    name: str = ""
    condition: str


class FlowDebugIn(BaseModel):
    """A draft flow run against a given event and profile; nothing is kept or sent."""

    model_config = ConfigDict(extra="forbid")

    flow: dict[str, Any]
    event: dict[str, Any]
    profile: dict[str, Any] = Field(default_factory=dict)
    session: dict[str, Any] = Field(default_factory=dict)

    @field_validator("flow")
    @classmethod
    def _bounded_flow(cls, flow: dict[str, Any]) -> dict[str, Any]:
        _json_within(flow, MAX_FLOW_BYTES, "the flow")
        return flow


class SegmentMembersOut(BaseModel):
    segment: str
    total: int
    profiles: list[str]
