"""Validation on save: every problem of a flow at once, so an editor can show them all.

Refused: duplicate node ids, unknown actions, configurations that fail the action's JSON
Schema (or its own check, like a condition that does not parse), edges between unknown
nodes or ports, a flow without a start, and cycles (reported as the path around them).
"""

from __future__ import annotations

from jsonschema import Draft202012Validator

from headwater.core.flows.model import Flow
from headwater.core.flows.registry import ActionRegistry
from headwater.errors import FlowInvalid

__all__ = ["find_cycle", "flow_problems", "validate_flow"]


def _config_problems(flow: Flow, registry: ActionRegistry) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for node in flow.nodes:
        if node.id in seen:
            problems.append(f"node {node.id}: the id is used twice")
        seen.add(node.id)
        spec = registry.get(node.action)
        if spec is None:
            problems.append(f"node {node.id}: unknown action {node.action!r}")
            continue
        validator = Draft202012Validator(spec.config_schema)
        errors = sorted(validator.iter_errors(dict(node.config)), key=lambda e: list(e.path))
        for error in errors:
            where = "".join(f"[{p!r}]" for p in error.absolute_path)
            problems.append(f"node {node.id} ({node.action}): config{where}: {error.message}")
        if spec.check is not None and not errors:
            problems.extend(f"node {node.id} ({node.action}): {p}" for p in spec.check(node.config))
    return problems


def _edge_problems(flow: Flow, registry: ActionRegistry) -> list[str]:
    problems: list[str] = []
    nodes = {n.id: n for n in flow.nodes}
    for edge in flow.edges:
        label = f"edge {edge.source}:{edge.source_port} -> {edge.target}:{edge.target_port}"
        source, target = nodes.get(edge.source), nodes.get(edge.target)
        if source is None or target is None:
            missing = edge.source if source is None else edge.target
            problems.append(f"{label}: no node {missing!r}")
            continue
        source_spec, target_spec = registry.get(source.action), registry.get(target.action)
        if source_spec and edge.source_port not in source_spec.output_ports(source.config):
            ports = ", ".join(source_spec.output_ports(source.config)) or "none"
            problems.append(
                f"{label}: {source.action} has no output {edge.source_port!r} ({ports})"
            )
        if target_spec and edge.target_port not in target_spec.inputs:
            ports = ", ".join(target_spec.inputs) or "none"
            problems.append(f"{label}: {target.action} has no input {edge.target_port!r} ({ports})")
    if not any(n.action == "start" for n in flow.nodes):
        problems.append("the flow has no start node")
    return problems


def find_cycle(flow: Flow) -> list[str] | None:
    """A cycle as the node ids around it (first id repeated at the end), or None."""
    successors: dict[str, list[str]] = {n.id: [] for n in flow.nodes}
    for edge in flow.edges:
        if edge.source in successors and edge.target in successors:
            successors[edge.source].append(edge.target)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in successors[node]:
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in successors:
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def flow_problems(flow: Flow, registry: ActionRegistry) -> list[str]:
    problems = _config_problems(flow, registry) + _edge_problems(flow, registry)
    cycle = find_cycle(flow)
    if cycle is not None:
        problems.append(f"cycle: {' -> '.join(cycle)}")
    return problems


def validate_flow(flow: Flow, registry: ActionRegistry) -> Flow:
    """``flow`` when it can be saved; else FlowInvalid with every problem."""
    problems = flow_problems(flow, registry)
    if problems:
        raise FlowInvalid(problems, field=f"flow {flow.id}")
    return flow
