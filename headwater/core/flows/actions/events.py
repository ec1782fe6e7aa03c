"""Events: inject a new event for the same profile, now or later."""

from __future__ import annotations

from typing import Any

from headwater.core.conditions.values import duration_ms
from headwater.core.flows.actions.schemas import DURATION, STRING, obj
from headwater.core.flows.registry import ActionCall, ActionSpec, Output
from headwater.core.flows.state import OutboundRequest

__all__ = ["ACTIONS", "cause_depth"]


def cause_depth(event: dict[str, Any]) -> int:
    """How many injections led to ``event`` (0 for an event a client sent)."""
    caused_by = event.get("caused_by")
    depth = caused_by.get("depth", 0) if isinstance(caused_by, dict) else 0
    return depth if isinstance(depth, int) else 0


def _new_event(call: ActionCall, time_ms: int) -> dict[str, Any]:
    properties = call.value("properties", {})
    return {
        "id": call.state.stable_uuid(call.node_id),
        "type": str(call.value("type")),
        "time": time_ms,
        "properties": properties if isinstance(properties, dict) else {"value": properties},
        "caused_by": {
            "event": call.state.event_id,
            "flow": call.state.flow_id,
            "node": call.node_id,
            "depth": cause_depth(call.state.event) + 1,  # the agent caps it against loops
        },
    }


def _inject(call: ActionCall) -> list[Output]:
    call.state.events.append(_new_event(call, call.state.now_ms))
    return call.passed()


def _delay(call: ActionCall) -> list[Output]:
    due = call.state.now_ms + duration_ms(str(call.config["delay"]))
    event = _new_event(call, due)
    call.state.requests.append(
        OutboundRequest(
            kind="schedule",
            target={"profile": call.read("profile.id"), "event_type": event["type"]},
            body=event,
            idempotency_key=event["id"],
            flow_id=call.state.flow_id,
            node_id=call.node_id,
            event_id=call.state.event_id,
            not_before_ms=due,
        )
    )
    return call.passed()


_PROPERTIES = {"type": "object"}

ACTIONS = [
    ActionSpec(
        "inject-event",
        "event",
        "Emits a new event of the same profile at the event time (its rules run too).",
        _inject,
        obj(("type",), type=STRING, properties=_PROPERTIES),
    ),
    ActionSpec(
        "delay-request",
        "flow",
        "Asks for an event to be delivered after a delay (a scheduled outbound request).",
        _delay,
        obj(("type", "delay"), type=STRING, delay=DURATION, properties=_PROPERTIES),
        side_effects=True,
    ),
]
