"""A flow: nodes (an action and its configuration) joined by edges from an output port to
an input port. Stored as configuration (``hw.config``) in the dict form of ``to_dict``.

``{"id": "welcome", "nodes": [{"id": "start", "action": "start"}, {"id": "vip",
"action": "if", "config": {"condition": "profile.stats.visits > 3"}}],
"edges": [{"from": "start", "to": "vip"}, {"from": "vip:true", "to": "tag"}]}``

An edge end is ``node`` or ``node:port``; the port defaults to ``payload``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from headwater.errors import FlowInvalid

__all__ = ["DEFAULT_PORT", "Edge", "Flow", "Node"]

DEFAULT_PORT = "payload"


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    action: str
    config: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    source_port: str = DEFAULT_PORT
    target_port: str = DEFAULT_PORT

    @staticmethod
    def end(text: str) -> tuple[str, str]:
        node, _, port = text.partition(":")
        return node, port or DEFAULT_PORT


@dataclass(frozen=True, slots=True)
class Flow:
    id: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    name: str = ""
    version: int = 1

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Flow:
        """A flow from its stored form; FlowInvalid lists every shape problem."""
        problems: list[str] = []
        flow_id = data.get("id")
        if not isinstance(flow_id, str) or not flow_id:
            problems.append("id must be a non-empty string")
        nodes: list[Node] = []
        for index, raw in enumerate(data.get("nodes") or []):
            if not isinstance(raw, Mapping):
                problems.append(f"nodes[{index}] must be an object")
                continue
            node_id, action, config = raw.get("id"), raw.get("action"), raw.get("config", {})
            if not isinstance(node_id, str) or not node_id or ":" in node_id:
                problems.append(f"nodes[{index}].id must be a non-empty string without ':'")
            elif not isinstance(action, str) or not isinstance(config, dict):
                problems.append(f"node {node_id}: action must be a string, config an object")
            else:
                nodes.append(Node(node_id, action, config, str(raw.get("name", ""))))
        edges: list[Edge] = []
        for index, raw in enumerate(data.get("edges") or []):
            source = raw.get("from") if isinstance(raw, Mapping) else None
            target = raw.get("to") if isinstance(raw, Mapping) else None
            if not isinstance(source, str) or not isinstance(target, str):
                problems.append(f"edges[{index}] needs 'from' and 'to' as 'node' or 'node:port'")
                continue
            (src, src_port), (dst, dst_port) = Edge.end(source), Edge.end(target)
            edges.append(Edge(src, dst, src_port, dst_port))
        version = data.get("version", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            problems.append("version must be a positive whole number")
        if problems:
            raise FlowInvalid(problems)
        return cls(str(flow_id), tuple(nodes), tuple(edges), str(data.get("name", "")), version)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "nodes": [
                {"id": n.id, "action": n.action, "config": dict(n.config), "name": n.name}
                for n in self.nodes
            ],
            "edges": [
                {"from": f"{e.source}:{e.source_port}", "to": f"{e.target}:{e.target_port}"}
                for e in self.edges
            ],
        }
