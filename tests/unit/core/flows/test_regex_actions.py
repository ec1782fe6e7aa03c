"""Regex actions run user patterns on public event data: linear time (RE2), and a
pattern RE2 cannot run is refused when the flow is saved."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from headwater.core.flows import ActionRegistry
from headwater.core.flows.model import Flow
from headwater.core.flows.validation import validate_flow
from headwater.errors import ActionFailed, FlowInvalid
from tests.unit.core.flows.conftest import Ran, event_document

Run = Callable[..., Ran]

CATASTROPHIC = r"^(a+)+$"  # exponential on a backtracking engine


@pytest.mark.parametrize("action", ["regex-match", "regex-replace"])
def test_a_catastrophic_pattern_runs_in_linear_time(run_action: Run, action: str) -> None:
    event = event_document(word="a" * 27 + "!")
    config = {"path": "event.properties.word", "pattern": CATASTROPHIC, "to": "payload.m"}
    started = time.perf_counter()
    ran = run_action(action, config, event=event)
    took = time.perf_counter() - started
    assert took < 0.1, f"{action} took {took:.2f}s"
    if action == "regex-match":
        assert ran.port == "unmatched"


def test_groups_and_replacements_keep_their_meaning(run_action: Run) -> None:
    config = {"path": "event.properties.v", "pattern": r"(\d+)-(\d+)", "to": "payload.m"}
    assert run_action("regex-match", config, event=event_document(v="x 12-34")).payload == {
        "m": ["12", "34"]
    }
    config = {"path": "event.properties.v", "pattern": r"(\d)", "replacement": r"<\1>"}
    config["to"] = "payload.r"
    assert run_action("regex-replace", config, event=event_document(v="a1b2")).payload == {
        "r": "a<1>b<2>"
    }


def _flow(pattern: str) -> Flow:
    return Flow.from_dict(
        {
            "id": "f",
            "nodes": [
                {"id": "start", "action": "start"},
                {
                    "id": "m",
                    "action": "regex-match",
                    "config": {"path": "event.properties.v", "pattern": pattern},
                },
            ],
            "edges": [{"from": "start", "to": "m"}],
        }
    )


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "invalid escape sequence"),  # a backreference
        (r"(?=a)b", "invalid perl operator"),  # lookahead
        ("(", "missing )"),
        ("a" * 1001, "longer than 1000"),
    ],
)
def test_a_pattern_re2_cannot_run_is_refused_on_save(
    registry: ActionRegistry, pattern: str, reason: str
) -> None:
    with pytest.raises(FlowInvalid) as refused:
        validate_flow(_flow(pattern), registry)
    assert "pattern" in str(refused.value) and reason in str(refused.value)


def test_a_saved_pattern_that_cannot_run_fails_the_node(run_action: Run) -> None:
    with pytest.raises(ActionFailed, match="pattern"):
        run_action(
            "regex-replace",
            {"path": "event.properties.v", "pattern": r"(a)\1"},
            event=event_document(v="aa"),
        )
