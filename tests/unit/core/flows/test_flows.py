"""Flows: validation on save, and the pure runner (branches, joins, trace, no side effects)."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest

from headwater.core.flows import (
    ActionRegistry,
    ActionSpec,
    Flow,
    debug_flow,
    run_flow,
    validate_flow,
)
from headwater.core.flows.validation import find_cycle
from headwater.errors import FlowInvalid
from tests.unit.core.flows.conftest import NOW, event_document, profile_document


def flow(nodes: list[dict[str, Any]], edges: list[tuple[str, str]], flow_id: str = "f1") -> Flow:
    return Flow.from_dict(
        {"id": flow_id, "nodes": nodes, "edges": [{"from": a, "to": b} for a, b in edges]}
    )


def purchase_flow() -> Flow:
    """start -> if visits > 3 -> (gold | basic) -> merge <- counter <- start;
    merge -> add-segment -> webhook -> end."""
    return flow(
        [
            {"id": "start", "action": "start"},
            {"id": "loyal", "action": "if", "config": {"condition": "profile.stats.visits > 3"}},
            {"id": "gold", "action": "update-traits", "config": {"traits": {"tier": "gold"}}},
            {"id": "basic", "action": "update-traits", "config": {"traits": {"tier": "basic"}}},
            {"id": "count", "action": "increment-counter", "config": {"counter": "purchases"}},
            {"id": "join", "action": "merge"},
            {"id": "tag", "action": "add-segment", "config": {"segment": "buyers"}},
            {"id": "notify", "action": "webhook", "config": {"url": "http://crm.local/hook"}},
            {"id": "end", "action": "end"},
        ],
        [
            ("start", "loyal"),
            ("loyal:true", "gold"),
            ("loyal:false", "basic"),
            ("start", "count"),
            ("gold", "join"),
            ("basic", "join"),
            ("count", "join"),
            ("join", "tag"),
            ("tag", "notify"),
            ("notify", "end"),
        ],
    )


def _run(f: Flow, registry: ActionRegistry, visits: int, **kwargs: Any) -> Any:
    profile = profile_document()
    profile["stats"]["visits"] = visits
    return run_flow(
        f,
        registry,
        event=event_document(total=5),
        profile=profile,
        session={"id": "s1", "events": 1},
        now_ms=NOW,
        **kwargs,
    )


@pytest.mark.parametrize(("visits", "tier", "branch"), [(5, "gold", "gold"), (1, "basic", "basic")])
def test_branches_and_a_join(registry: ActionRegistry, visits: int, tier: str, branch: str) -> None:
    f = validate_flow(purchase_flow(), registry)
    result = _run(f, registry, visits)
    assert result.profile["traits"] == {"tier": tier}
    assert result.profile["data"]["counters"] == {"purchases": 1}
    assert result.profile["segments"] == ["buyers"]
    ran = [t.node_id for t in result.trace]
    assert ran == ["start", "loyal", branch, "count", "join", "tag", "notify", "end"]
    join = next(t for t in result.trace if t.node_id == "join")
    assert len(join.input) == 2  # the branch taken and the counter, joined once
    (request,) = result.requests
    assert request.kind == "http" and request.body == {"total": 5}
    assert result.errors == [] and result.events == []


def test_the_inputs_are_never_changed(registry: ActionRegistry) -> None:
    profile, event = profile_document(), event_document(total=5)
    before = copy.deepcopy((profile, event))
    result = run_flow(
        purchase_flow(), registry, event=event, profile=profile, session={}, now_ms=NOW
    )
    assert (profile, event) == before
    assert result.profile != profile


def test_trace_records_input_output_and_time(registry: ActionRegistry) -> None:
    ticks = itertools.count()
    result = _run(purchase_flow(), registry, 5, clock=lambda: float(next(ticks)))
    loyal = next(t for t in result.trace if t.node_id == "loyal")
    assert loyal.input == [("payload", {"total": 5})]
    assert loyal.output == [("true", {"total": 5})]
    assert all(t.duration_ms == 1000.0 for t in result.trace)  # one tick per node
    assert all(t.duration_ms is None for t in _run(purchase_flow(), registry, 5).trace)


def test_a_failing_node_is_traced_and_its_branch_stops(registry: ActionRegistry) -> None:
    f = flow(
        [
            {"id": "start", "action": "start"},
            {"id": "bad", "action": "lowercase", "config": {"path": "event.properties.none"}},
            {"id": "after", "action": "add-segment", "config": {"segment": "never"}},
            {"id": "other", "action": "add-segment", "config": {"segment": "still"}},
        ],
        [("start", "bad"), ("bad", "after"), ("start", "other")],
    )
    result = run_flow(
        validate_flow(f, registry),
        registry,
        event=event_document(),
        profile=profile_document(),
        session={},
        now_ms=NOW,
    )
    (failed,) = result.errors
    assert failed.node_id == "bad" and "not text" in (failed.error or "")
    assert result.profile["segments"] == ["still"]


def test_a_plugin_bug_is_an_error_in_the_trace_not_a_crash(registry: ActionRegistry) -> None:
    def broken(call: Any) -> Any:
        raise KeyError("oops")

    plugins = ActionRegistry([*registry.specs(), ActionSpec("broken", "data", "", broken)])
    f = flow(
        [{"id": "start", "action": "start"}, {"id": "b", "action": "broken"}], [("start", "b")]
    )
    result = run_flow(
        f, plugins, event=event_document(), profile=profile_document(), session={}, now_ms=NOW
    )
    assert result.errors[0].error == "KeyError: 'oops'"

    sloppy = ActionRegistry([*registry.specs(), ActionSpec("broken", "data", "", lambda c: None)])
    result = run_flow(
        f, sloppy, event=event_document(), profile=profile_document(), session={}, now_ms=NOW
    )
    assert "not a list of (port, payload)" in (result.errors[0].error or "")


def _problems(f: Flow, registry: ActionRegistry) -> list[str]:
    with pytest.raises(FlowInvalid) as caught:
        validate_flow(f, registry)
    return caught.value.problems


def test_validation_reports_every_problem(registry: ActionRegistry) -> None:
    f = flow(
        [
            {"id": "start", "action": "start"},
            {"id": "x", "action": "teleport"},
            {"id": "s", "action": "add-segment", "config": {"segment": ""}},
            {"id": "c", "action": "if", "config": {"condition": "profile.x ="}},
            {
                "id": "m",
                "action": "math",
                "config": {"operation": "pow", "left": 1, "to": "payload.r"},
            },
        ],
        [("start", "s"), ("s:yes", "c"), ("c", "ghost"), ("start", "start")],
    )
    problems = _problems(f, registry)
    assert "node x: unknown action 'teleport'" in problems
    assert any(p.startswith("node s (add-segment): config['segment']:") for p in problems)
    assert any(
        p.startswith("node c (if): condition:") and "line 1, column 12" in p for p in problems
    )
    assert any("config['operation']" in p for p in problems)
    assert any("add-segment has no output 'yes'" in p for p in problems)
    assert "edge c:payload -> ghost:payload: no node 'ghost'" in problems
    assert any("start has no input 'payload'" in p for p in problems)


def test_cycles_are_reported_with_their_path(registry: ActionRegistry) -> None:
    nodes = [{"id": "start", "action": "start"}] + [
        {"id": n, "action": "set-value", "config": {"path": "memory.x", "value": 1}} for n in "abc"
    ]
    f = flow(nodes, [("start", "a"), ("a", "b"), ("b", "c"), ("c", "a")])
    assert find_cycle(f) == ["a", "b", "c", "a"]
    assert "cycle: a -> b -> c -> a" in _problems(f, registry)


def test_a_flow_needs_a_start(registry: ActionRegistry) -> None:
    f = flow([{"id": "e", "action": "end"}], [])
    assert _problems(f, registry) == ["the flow has no start node"]


def test_shape_errors_and_round_trip() -> None:
    with pytest.raises(FlowInvalid) as caught:
        Flow.from_dict(
            {"id": "", "nodes": [{"id": "a:b", "action": "x"}], "edges": [{"from": "a"}]}
        )
    assert len(caught.value.problems) == 3
    f = purchase_flow()
    assert Flow.from_dict(f.to_dict()) == f


def test_debug_run_of_a_draft(registry: ActionRegistry) -> None:
    draft = purchase_flow().to_dict()
    profile = profile_document()
    report = debug_flow(
        draft, registry, event=event_document(total=5), profile=profile, session={}, now_ms=NOW
    )
    assert report["valid"] is True
    result = report["result"]
    assert [t["node_id"] for t in result["trace"]][:2] == ["start", "loyal"]
    assert result["trace"][0]["output"] == [{"port": "payload", "payload": {"total": 5}}]
    assert result["requests"][0]["kind"] == "http"
    assert json.loads(json.dumps(report)) == report  # JSON-ready
    assert profile == profile_document()  # nothing kept

    draft["edges"].append({"from": "end", "to": "start"})
    report = debug_flow(
        draft, registry, event=event_document(), profile=profile, session={}, now_ms=NOW
    )
    assert report["valid"] is False
    assert any("end has no output" in p for p in report["problems"])


def test_shape_errors_name_each_bad_entry() -> None:
    with pytest.raises(FlowInvalid) as caught:
        Flow.from_dict({"id": "f", "version": "2", "nodes": ["x"], "edges": [3]})
    assert caught.value.problems == [
        "nodes[0] must be an object",
        "edges[0] needs 'from' and 'to' as 'node' or 'node:port'",
        "version must be a positive whole number",
    ]


def test_the_agent_can_leave_payloads_out_of_the_trace(registry: ActionRegistry) -> None:
    result = _run(purchase_flow(), registry, 5, trace_payloads=False)
    assert [t.node_id for t in result.trace][:2] == ["start", "loyal"]
    assert all(t.input == [] and t.output == [] for t in result.trace)
    assert result.profile["traits"] == {"tier": "gold"}  # the run itself is the same


def test_branches_get_their_own_payload_copies(registry: ActionRegistry) -> None:
    f = flow(
        [
            {"id": "start", "action": "start"},
            {"id": "a", "action": "set-value", "config": {"path": "payload.x", "value": "a"}},
            {"id": "b", "action": "copy-value", "config": {"from": "payload.x", "to": "memory.b"}},
        ],
        [("start", "a"), ("start", "b")],
    )
    result = run_flow(
        f, registry, event=event_document(), profile=profile_document(), session={}, now_ms=NOW
    )
    assert result.memory == {"b": None}  # b never saw a's change to its own payload
