"""Flow control: where a flow starts and ends, and how it branches and joins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headwater.core.conditions import compile_predicate, parse
from headwater.core.conditions.values import same
from headwater.core.flows.actions.schemas import PATH, obj
from headwater.core.flows.registry import ActionCall, ActionSpec, Output
from headwater.errors import ConditionSyntaxError

__all__ = ["ACTIONS"]


def _start(call: ActionCall) -> list[Output]:
    return call.passed()


def _end(call: ActionCall) -> list[Output]:
    return []


def _branch(flag: bool, call: ActionCall) -> list[Output]:
    return call.passed("true" if flag else "false")


def _if(call: ActionCall) -> list[Output]:
    predicate = compile_predicate(str(call.config["condition"]))
    return _branch(predicate(call.state.scope(call.payload), call.state.now_ms), call)


def _check_condition(config: Mapping[str, Any]) -> list[str]:
    try:
        parse(str(config.get("condition", "")))
    except ConditionSyntaxError as exc:
        return [f"condition: {exc}"]
    return []


def _case_ports(config: Mapping[str, Any]) -> tuple[str, ...]:
    return (*(str(case) for case in config.get("cases", [])), "default")


def _switch(call: ActionCall) -> list[Output]:
    value = call.read(str(call.config["path"]))
    for case in call.config["cases"]:
        if same(value, case):
            return call.passed(str(case))
    return call.passed("default")


def _merge(call: ActionCall) -> list[Output]:
    merged: dict[str, Any] = {}
    for _, payload in call.messages:
        merged.update(payload)
    return [("payload", merged)]


def _data_exists(call: ActionCall) -> list[Output]:
    return _branch(call.read(str(call.config["path"])) not in (None, "", [], {}), call)


def _is_new_profile(call: ActionCall) -> list[Output]:
    events = call.read("profile.stats.events", 0)
    return _branch(isinstance(events, int) and events <= 1, call)


def _is_new_visit(call: ActionCall) -> list[Output]:
    events = call.read("session.events", 0)
    return _branch(isinstance(events, int) and events <= 1, call)


_CASE = {"type": ["string", "number", "boolean"]}

ACTIONS = [
    ActionSpec(
        "start", "flow", "Where the flow begins; sends the event properties.", _start, inputs=()
    ),
    ActionSpec("end", "flow", "Ends a branch.", _end, outputs=()),
    ActionSpec(
        "if",
        "flow",
        "Routes to true or false by a condition (docs/conditions.md).",
        _if,
        obj(("condition",), condition={"type": "string", "minLength": 1}),
        outputs=("true", "false"),
        check=_check_condition,
    ),
    ActionSpec(
        "switch",
        "flow",
        "Routes to the port named like the value at a path, else to default.",
        _switch,
        obj(
            ("path", "cases"),
            path=PATH,
            cases={"type": "array", "items": _CASE, "minItems": 1, "uniqueItems": True},
        ),
        outputs_from_config=_case_ports,
    ),
    ActionSpec(
        "merge",
        "flow",
        "Waits for every branch that reaches it and sends one payload merged from theirs.",
        _merge,
        joins=True,
    ),
    ActionSpec(
        "data-exists",
        "flow",
        "Routes to true when the path holds a non-empty value.",
        _data_exists,
        obj(("path",), path=PATH),
        outputs=("true", "false"),
    ),
    ActionSpec(
        "is-new-profile",
        "flow",
        "Routes to true when this is the profile's first event.",
        _is_new_profile,
        outputs=("true", "false"),
    ),
    ActionSpec(
        "is-new-visit",
        "flow",
        "Routes to true when this is the first event of its session.",
        _is_new_visit,
        outputs=("true", "false"),
    ),
]
