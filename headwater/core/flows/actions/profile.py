"""Profile updates: traits, segments, interests, consents and counters. They change the
run's copy of the profile document; the profile agent keeps the result."""

from __future__ import annotations

from headwater.core.flows.actions.schemas import NUMBER, STRING, VALUE, obj
from headwater.core.flows.registry import ActionCall, ActionSpec, Output
from headwater.errors import ActionFailed

__all__ = ["ACTIONS", "COUNTERS_PATH"]

COUNTERS_PATH = "profile.data.counters"  # where increment-counter keeps its counts


def _update_traits(call: ActionCall) -> list[Output]:
    for name, value in dict(call.config["traits"]).items():
        call.write(f"profile.traits.{name}", call.state.resolve(value, call.payload))
    return call.passed()


def _segments(call: ActionCall) -> list[str]:
    current = call.read("profile.segments")
    return [str(s) for s in current] if isinstance(current, list) else []


def _add_segment(call: ActionCall) -> list[Output]:
    segments, name = _segments(call), str(call.value("segment"))
    if name not in segments:
        call.write("profile.segments", [*segments, name])
    return call.passed()


def _remove_segment(call: ActionCall) -> list[Output]:
    name = str(call.value("segment"))
    call.write("profile.segments", [s for s in _segments(call) if s != name])
    return call.passed()


def _add_to(call: ActionCall, path: str, sign: int) -> None:
    current = call.read(path, 0)
    by = call.value("by", 1)
    if isinstance(current, bool) or not isinstance(current, int | float):
        raise ActionFailed(f"{path} holds {current!r}, not a number")
    if isinstance(by, bool) or not isinstance(by, int | float):
        raise ActionFailed(f"by is {by!r}, not a number")
    call.write(path, current + sign * by)


def _increase_interest(call: ActionCall) -> list[Output]:
    _add_to(call, f"profile.interests.{call.value('interest')}", 1)
    return call.passed()


def _decrease_interest(call: ActionCall) -> list[Output]:
    _add_to(call, f"profile.interests.{call.value('interest')}", -1)
    return call.passed()


def _consent(call: ActionCall, granted: bool) -> list[Output]:
    call.write(
        f"profile.consents.{call.value('consent')}",
        {"granted": granted, "time": call.state.now_ms},
    )
    return call.passed()


def _grant(call: ActionCall) -> list[Output]:
    return _consent(call, True)


def _revoke(call: ActionCall) -> list[Output]:
    return _consent(call, False)


def _increment_counter(call: ActionCall) -> list[Output]:
    _add_to(call, f"{COUNTERS_PATH}.{call.value('counter')}", 1)
    return call.passed()


_KEY = {"type": "string", "pattern": r"^[^.\s]+$"}  # one path segment
_BY = {"anyOf": [NUMBER, VALUE]}

ACTIONS = [
    ActionSpec(
        "update-traits",
        "profile",
        "Sets profile traits; each value is a literal, {path} or template.",
        _update_traits,
        obj(("traits",), traits={"type": "object", "minProperties": 1, "propertyNames": _KEY}),
    ),
    ActionSpec(
        "add-segment",
        "profile",
        "Adds the profile to a segment.",
        _add_segment,
        obj(("segment",), segment=STRING),
    ),
    ActionSpec(
        "remove-segment",
        "profile",
        "Removes the profile from a segment.",
        _remove_segment,
        obj(("segment",), segment=STRING),
    ),
    ActionSpec(
        "increase-interest",
        "profile",
        "Raises an interest by `by` (default 1).",
        _increase_interest,
        obj(("interest",), interest=_KEY, by=_BY),
    ),
    ActionSpec(
        "decrease-interest",
        "profile",
        "Lowers an interest by `by` (default 1).",
        _decrease_interest,
        obj(("interest",), interest=_KEY, by=_BY),
    ),
    ActionSpec(
        "grant-consent",
        "profile",
        "Records a granted consent at the event time.",
        _grant,
        obj(("consent",), consent=_KEY),
    ),
    ActionSpec(
        "revoke-consent",
        "profile",
        "Records a revoked consent at the event time.",
        _revoke,
        obj(("consent",), consent=_KEY),
    ),
    ActionSpec(
        "increment-counter",
        "profile",
        f"Adds `by` (default 1) to a counter under {COUNTERS_PATH}.",
        _increment_counter,
        obj(("counter",), counter=_KEY, by=_BY),
    ),
]
