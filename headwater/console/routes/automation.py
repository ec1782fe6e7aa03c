"""``/flows``, ``/rules`` and ``/segments``: the workflow definitions the profile agent
runs (core/automation.py), versioned per context with deploy and rollback like every
configuration kind; a debug run of a draft flow; segment size and members by search."""

from __future__ import annotations

import time
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, Query

from headwater.adapters.outbound.addresses import address_policy, topic_policy
from headwater.adapters.plugins import registry_from_entry_points
from headwater.console.auth import Scope, require
from headwater.console.automation_models import (
    FlowDebugIn,
    FlowIn,
    FlowOut,
    RuleIn,
    RuleOut,
    SegmentIn,
    SegmentMembersOut,
    SegmentOut,
)
from headwater.console.context import ConfigContext
from headwater.console.params import only_known_query_params
from headwater.console.routes.entities import EntityId, entity_router
from headwater.console.routes.secrets import flow_secrets_set
from headwater.console.segment_search import check_searchable, members_query
from headwater.core.access import Permission
from headwater.core.automation import FLOW_KIND, RULE_KIND, SEGMENT_KIND
from headwater.core.conditions import parse, paths_of
from headwater.core.flows.actions.outbound import outbound_problems
from headwater.core.flows.model import Flow
from headwater.core.flows.registry import ActionRegistry
from headwater.core.flows.rules import rule_from_config
from headwater.core.flows.runner import debug_flow
from headwater.core.flows.validation import validate_flow
from headwater.core.masking import restore_masked
from headwater.core.segments import segment_from_config
from headwater.errors import ConditionSyntaxError, Conflict, FlowInvalid, InvalidInput

__all__ = ["flows", "rules", "segments"]

Write = Annotated[Scope, Depends(require(Permission.CONFIG_WRITE))]
Data = Annotated[Scope, Depends(only_known_query_params(require(Permission.DATA_READ)))]


@cache
def registry() -> ActionRegistry:
    """The actions installed packages declare, loaded once."""
    return registry_from_entry_points()


def _valid_flow(data: dict[str, Any]) -> None:
    validate_flow(Flow.from_dict({**data, "id": "draft"}), registry())


def _outbound_allowed(data: dict[str, Any], scope: Scope, env: str) -> None:
    """422 for a flow whose outbound nodes the operator's policy refuses, or that names
    a secret its context does not have."""
    flow_secrets_set(data, scope, env)
    settings = scope.runtime.settings
    flow = Flow.from_dict({**data, "id": "draft"})
    problems = outbound_problems(
        flow, scope.tenant, address_policy(settings), topic_policy(settings)
    )
    if problems:
        raise FlowInvalid(problems, field="flow draft")


_RULE_ROOTS = ("event", "profile", "session")  # what a rule's condition sees


def _valid_rule(data: dict[str, Any]) -> None:
    condition = data.get("condition")
    if isinstance(condition, str):
        try:
            parse(condition)  # a syntax error answers with its line and column
        except ConditionSyntaxError as exc:
            exc.field = "condition"
            raise
    rule_from_config({**data, "id": "draft"})
    if isinstance(condition, str):
        outside = sorted({p.text for p in paths_of(parse(condition)) if p.root not in _RULE_ROOTS})
        if outside:
            raise InvalidInput(
                f"condition: a rule sees only event.*, profile.* and session.*, not "
                f"{', '.join(outside)}",
                field="condition",
            )


def _no_rule_runs(flow_id: str, scope: Scope, env: str) -> None:
    """A flow a rule runs stays until the rule is changed or deleted."""
    users = sorted(
        r.id for r in scope.config.list(RULE_KIND, env) if r.data.get("flow_id") == flow_id
    )
    if users:
        raise Conflict(
            f"rule {', '.join(users)} runs flow {flow_id} in {env}; change or delete the rule first"
        )


def _flow_exists(data: dict[str, Any], scope: Scope, env: str) -> None:
    """A rule must name a flow of its own context (the agents would run nothing)."""
    flow_id = str(data["flow_id"])
    if scope.config.find(FLOW_KIND, env, flow_id) is None:
        raise InvalidInput(
            f"flow_id: there is no flow {flow_id} in {env}; use the id POST /flows gave "
            "the flow (and deploy the flow before the rule)",
            field="flow_id",
        )


def _valid_segment(data: dict[str, Any]) -> None:
    segment_from_config({**data, "id": "draft"})


flows = entity_router(
    kind=FLOW_KIND,
    prefix="/flows",
    noun="flow",
    body_model=FlowIn,
    out_model=FlowOut,
    out=FlowOut.of,
    check=_valid_flow,
    check_in_context=_outbound_allowed,
    check_delete=_no_rule_runs,
    restore=restore_masked,  # FlowOut masks credentials; saving the masks back keeps them
)
rules = entity_router(
    kind=RULE_KIND,
    prefix="/rules",
    noun="rule",
    body_model=RuleIn,
    out_model=RuleOut,
    out=RuleOut.of,
    check=_valid_rule,
    check_in_context=_flow_exists,
)
segments = entity_router(
    kind=SEGMENT_KIND,
    prefix="/segments",
    noun="segment",
    body_model=SegmentIn,
    out_model=SegmentOut,
    out=SegmentOut.of,
    check=_valid_segment,
    check_in_context=check_searchable,
)


@flows.post(
    "/debug",
    response_model=dict[str, Any],
    summary="Run a draft flow against an event and profile; nothing is kept or sent",
)
async def debug(scope: Write, body: FlowDebugIn) -> Any:
    event = {"id": "debug", "type": "debug", "time": int(time.time() * 1000), **body.event}
    return debug_flow(
        {**body.flow, "id": body.flow.get("id", "draft")},
        registry(),
        event=event,
        profile=body.profile,
        session=body.session,
        now_ms=int(event["time"]),
        clock=time.perf_counter,  # each node's timing in the trace
    )


@segments.get(
    "/{entity_id}/members",
    response_model=SegmentMembersOut,
    summary="How many profiles are in the segment now, and the first of them",
)
async def members(
    scope: Data,
    entity_id: EntityId,
    x_context: ConfigContext,
    size: Annotated[int, Query(ge=0, le=1000)] = 100,
) -> SegmentMembersOut:
    segment = scope.config.get(SEGMENT_KIND, x_context, entity_id)  # 404 when not ours
    data = scope.data
    query = members_query(
        str(segment.data["condition"]), now_ms=int(time.time() * 1000), engine=data.store.engine
    )
    total, ids = await data.profiles_matching(x_context, query, size)
    return SegmentMembersOut(segment=entity_id, total=total, profiles=ids)
