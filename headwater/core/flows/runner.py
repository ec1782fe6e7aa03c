"""Running a flow: pure. It takes the event, the profile document and the session, and
returns the new profile document, the events the flow injected, the outbound requests
it asked for, and a trace of every node (input, output, time taken, error).

Order: nodes run in a topological order (ties by their order in the flow). A node runs
once per message that reached it; a joining action (``merge``) runs once with all of
them, after every branch that could reach it has finished. A node no message reached
does not run. A node that fails sends nothing on; the rest of the flow goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from headwater.core.flows.model import DEFAULT_PORT, Edge, Flow, Node
from headwater.core.flows.registry import ActionCall, ActionRegistry, ActionSpec, Output
from headwater.core.flows.state import FlowState, OutboundRequest, clone
from headwater.core.flows.validation import validate_flow
from headwater.errors import ActionFailed, FlowInvalid

__all__ = ["FlowResult", "NodeTrace", "debug_flow", "run_flow"]

MAX_NODE_RUNS = 1000  # a flow whose branches multiply past this is stopped


@dataclass(frozen=True, slots=True)
class NodeTrace:
    node_id: str
    action: str
    input: list[tuple[str, dict[str, Any]]]  # (input port, payload) per message
    output: list[Output]  # input and output are empty unless payloads are traced
    duration_ms: float | None  # None when the caller gave no clock
    error: str | None = None


@dataclass(slots=True)
class FlowResult:
    flow_id: str
    profile: dict[str, Any]
    event: dict[str, Any]
    session: dict[str, Any]
    memory: dict[str, Any]
    events: list[dict[str, Any]]  # injected events
    requests: list[OutboundRequest]  # side effects to publish to hw.outbound
    trace: list[NodeTrace] = field(default_factory=list)

    @property
    def errors(self) -> list[NodeTrace]:
        return [t for t in self.trace if t.error is not None]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for a debug view."""
        return {
            "flow_id": self.flow_id,
            "profile": self.profile,
            "event": self.event,
            "session": self.session,
            "memory": self.memory,
            "events": self.events,
            "requests": [r.to_dict() for r in self.requests],
            "trace": [
                {
                    "node_id": t.node_id,
                    "action": t.action,
                    "input": [{"port": p, "payload": v} for p, v in t.input],
                    "output": [{"port": p, "payload": v} for p, v in t.output],
                    "duration_ms": t.duration_ms,
                    "error": t.error,
                }
                for t in self.trace
            ],
        }


def _order(flow: Flow) -> list[Node]:
    """Topological order, stable: among ready nodes, the one defined first runs first."""
    position = {n.id: i for i, n in enumerate(flow.nodes)}
    waiting = {n.id: 0 for n in flow.nodes}
    for edge in flow.edges:
        waiting[edge.target] += 1
    ready = sorted((i for i, count in waiting.items() if count == 0), key=position.__getitem__)
    ordered: list[Node] = []
    while ready:
        node_id = ready.pop(0)
        ordered.append(flow.nodes[position[node_id]])
        for edge in flow.edges:
            if edge.source == node_id:
                waiting[edge.target] -= 1
                if waiting[edge.target] == 0:
                    ready.append(edge.target)
                    ready.sort(key=position.__getitem__)
    if len(ordered) != len(flow.nodes):
        raise ActionFailed(f"flow {flow.id} has a cycle; validate flows before running them")
    return ordered


def _checked(outputs: Any) -> list[Output]:
    """What an action returned, if it is a list of (port name, payload object)."""
    if not isinstance(outputs, list) or not all(
        isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str) and isinstance(o[1], dict)
        for o in outputs
    ):
        raise ActionFailed(f"the action returned {outputs!r}, not a list of (port, payload)")
    return outputs


def _call(
    spec: ActionSpec,
    node: Node,
    messages: list[tuple[str, dict[str, Any]]],
    state: FlowState,
    clock: Callable[[], float] | None,
    payloads: bool,
) -> tuple[NodeTrace, list[Output]]:
    port, payload = messages[0]
    call = ActionCall(node.id, node.config, port, payload, state, messages)
    seen = [(p, clone(v)) for p, v in messages] if payloads else []
    started = clock() if clock else 0.0
    error: str | None = None
    outputs: list[Output] = []
    try:
        outputs = _checked(spec.run(call))
    except ActionFailed as exc:
        error = str(exc)
    except Exception as exc:  # a plugin's bug must not stop the profile agent
        error = f"{type(exc).__name__}: {exc}"
    duration = (clock() - started) * 1000 if clock else None
    sent = [(p, clone(v)) for p, v in outputs] if payloads else []
    return NodeTrace(node.id, node.action, seen, sent, duration, error), outputs


def run_flow(
    flow: Flow,
    registry: ActionRegistry,
    *,
    event: Mapping[str, Any],
    profile: Mapping[str, Any],
    session: Mapping[str, Any],
    now_ms: int,
    clock: Callable[[], float] | None = None,
    trace_payloads: bool = True,
) -> FlowResult:
    """Run ``flow`` (validated) on copies of the inputs; the inputs are never changed,
    so a debug run is this same call with its result thrown away. ``now_ms`` is the
    event time. ``clock`` (seconds, e.g. ``time.perf_counter``) only times nodes for
    the trace; ``trace_payloads=False`` leaves each node's input and output out of the
    trace (the agent's hot path; debug runs keep them)."""
    state = FlowState(
        flow.id, clone(dict(event)), clone(dict(profile)), clone(dict(session)), now_ms
    )
    inbox: dict[str, list[tuple[str, dict[str, Any]]]] = {n.id: [] for n in flow.nodes}
    properties = state.event.get("properties")
    for node in flow.nodes:
        if node.action == "start":
            start_payload = clone(properties) if isinstance(properties, dict) else {}
            inbox[node.id].append((DEFAULT_PORT, start_payload))
    outgoing: dict[tuple[str, str], list[Edge]] = {}
    for edge in flow.edges:
        outgoing.setdefault((edge.source, edge.source_port), []).append(edge)
    trace: list[NodeTrace] = []
    for node in _order(flow):
        messages = inbox.pop(node.id)
        spec = registry.get(node.action)
        if not messages:
            continue
        if spec is None:
            trace.append(NodeTrace(node.id, node.action, messages, [], None, "unknown action"))
            continue
        batches = [messages] if spec.joins else [[m] for m in messages]
        for batch in batches:
            if len(trace) >= MAX_NODE_RUNS:
                trace.append(NodeTrace(node.id, node.action, batch, [], None, "too many node runs"))
                break
            done, outputs = _call(spec, node, batch, state, clock, trace_payloads)
            trace.append(done)
            for port, payload in outputs:
                targets = outgoing.get((node.id, port), [])
                for index, edge in enumerate(targets):
                    # the last edge takes the payload itself, the others a copy each
                    sent = payload if index == len(targets) - 1 else clone(payload)
                    inbox[edge.target].append((edge.target_port, sent))
    return FlowResult(
        flow.id,
        state.profile,
        state.event,
        state.session,
        state.memory,
        state.events,
        state.requests,
        trace,
    )


def debug_flow(
    definition: Mapping[str, Any],
    registry: ActionRegistry,
    *,
    event: Mapping[str, Any],
    profile: Mapping[str, Any],
    session: Mapping[str, Any],
    now_ms: int,
    clock: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """A debug run of a draft flow (its stored form): ``{"valid": false, "problems":
    [...]}`` when it would be refused on save, else ``{"valid": true, "result": {...}}``
    with every node's input, output, time and error. Nothing is kept or sent."""
    try:
        flow = validate_flow(Flow.from_dict(definition), registry)
    except FlowInvalid as exc:
        return {"valid": False, "problems": exc.problems}
    result = run_flow(
        flow, registry, event=event, profile=profile, session=session, now_ms=now_ms, clock=clock
    )
    return {"valid": True, "result": result.to_dict()}
