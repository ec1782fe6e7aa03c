"""Rules, flows and segments run by a profile's single writer (pure).

After the profile agent folds a batch into a profile, :func:`automate` runs, for each
valid event it applied, the flows of the rules the event triggers (in rule order, each
flow seeing the profile the previous one left), keeps the flows' profile changes, and
then re-evaluates the segments against the profile as it now is. What comes out:

- events the flows injected and ``segment-entered`` / ``segment-left`` events, which go
  back through intake for the same profile (so rules can trigger on them);
- outbound requests (side effects) for the destinations agent.

Everything depends on the event time and the inputs only, so a replay computes the same
profile, the same event ids and the same idempotency keys; the replay publishes no
request. Injected events carry ``caused_by.depth``; events deeper than ``max_depth``
are not injected (a flow that triggers itself stops there).

Conditions and flows see the profile as it is after the whole batch the event came in;
a batch is usually one request's events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from headwater.core.flows.actions.events import cause_depth
from headwater.core.flows.apply import apply_profile_document
from headwater.core.flows.model import Flow
from headwater.core.flows.registry import ActionRegistry
from headwater.core.flows.rules import Rule, triggered_rules
from headwater.core.flows.runner import run_flow
from headwater.core.flows.state import OutboundRequest
from headwater.core.profiles import AppliedEvent, Profile
from headwater.core.records import json_object
from headwater.core.segments import Segment, segment_changes, segment_events
from headwater.core.times import as_ms

__all__ = ["FLOW_KIND", "RULE_KIND", "SEGMENT_KIND", "Automation", "Outcome", "automate"]

RULE_KIND, FLOW_KIND, SEGMENT_KIND = "rule", "flow", "segment"  # config entry kinds


@dataclass(frozen=True)
class Automation:
    """What a tenant and environment has configured, parsed and validated."""

    rules: tuple[Rule, ...] = ()
    flows: Mapping[str, Flow] = field(default_factory=dict)
    segments: tuple[Segment, ...] = ()
    max_depth: int = 3

    @property
    def idle(self) -> bool:
        return not self.rules and not self.segments


@dataclass
class Outcome:
    events: list[dict[str, Any]] = field(default_factory=list)  # back through intake
    requests: list[OutboundRequest] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # node errors, for the log
    changed: bool = False  # the profile changed (its version was bumped)


def automate(
    profile: Profile,
    applied: list[AppliedEvent],
    before: Mapping[str, Any] | None,
    automation: Automation,
    registry: ActionRegistry,
    source_id: str,
    *,
    flows: bool = True,
) -> Outcome:
    """Run rules and segments for the events of one batch (see the module doc);
    ``before`` is the profile document before the batch (None: a new profile).
    ``flows=False`` (an import with flows off, core/imports.py): segments only, no rule
    runs a flow, so nothing is injected and no side effect is requested."""
    outcome = Outcome()
    if automation.idle:
        return outcome
    last_time = 0
    last_event: dict[str, Any] | None = None
    for item in applied:
        if item.errors:  # an invalid event skips workflows
            continue
        event = _event_view(item)
        last_time, last_event = event["time"], event
        if not flows or cause_depth(event) >= automation.max_depth:
            continue
        _run_rules(profile, event, item.session_id, automation, registry, source_id, outcome)
    if last_event is not None and automation.segments:
        changes = segment_changes(before, profile.snapshot(), automation.segments, last_time)
        if changes.entered or changes.left:
            profile.segments = changes.segments
            profile.version += 1
            outcome.changed = True
            if cause_depth(last_event) < automation.max_depth:
                outcome.events += segment_events(
                    changes,
                    cause_event_id=last_event["id"],
                    now_ms=last_time,
                    cause_depth=cause_depth(last_event),
                    profile_id=profile.id,
                )
    return outcome


def _run_rules(
    profile: Profile,
    event: dict[str, Any],
    session_id: str,
    automation: Automation,
    registry: ActionRegistry,
    source_id: str,
    outcome: Outcome,
) -> None:
    time = event["time"]
    session = _session_view(profile, session_id)
    document = profile.snapshot()
    scope = {"event": event, "profile": document, "session": session}
    rules = triggered_rules(
        automation.rules, event_type=event["type"], source_id=source_id, scope=scope, now_ms=time
    )
    for rule in rules:
        flow = automation.flows.get(rule.flow_id)
        if flow is None:
            outcome.errors.append(f"rule {rule.id}: no flow {rule.flow_id}")
            continue
        result = run_flow(
            flow,
            registry,
            event=event,
            profile=document,
            session=session,
            now_ms=time,
            trace_payloads=False,
        )
        document = result.profile
        outcome.events += [e for e in result.events if cause_depth(e) <= automation.max_depth]
        outcome.requests += result.requests
        outcome.errors += [f"flow {flow.id} node {t.node_id}: {t.error}" for t in result.errors]
    if rules and apply_profile_document(profile, document, time):
        profile.version += 1
        outcome.changed = True


def _event_view(item: AppliedEvent) -> dict[str, Any]:
    event = item.event
    raw = item.properties or event["properties"]
    options = json_object(event["options"], "events[].options")
    view = {
        "id": event["id"],
        "type": event["type"],
        "time": as_ms(event["time"]),
        "properties": json_object(raw, "events[].properties"),
    }
    if isinstance(options.get("caused_by"), dict):
        view["caused_by"] = options["caused_by"]
    return view


def _session_view(profile: Profile, session_id: str) -> dict[str, Any]:
    for session in profile.sessions:
        if session.id == session_id:
            return session.to_dict()
    return {"id": session_id}
