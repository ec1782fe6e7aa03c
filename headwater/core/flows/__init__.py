"""Workflows, pure: flows (graphs of actions), rules that trigger them, the action
registry and the runner. Side effects are only returned as outbound requests."""

from headwater.core.flows.model import Edge, Flow, Node
from headwater.core.flows.registry import (
    ActionCall,
    ActionRegistry,
    ActionSpec,
    builtin_registry,
)
from headwater.core.flows.rules import Rule, rule_from_config, triggered_rules
from headwater.core.flows.runner import FlowResult, NodeTrace, debug_flow, run_flow
from headwater.core.flows.state import OutboundRequest
from headwater.core.flows.validation import validate_flow

__all__ = [
    "ActionCall",
    "ActionRegistry",
    "ActionSpec",
    "Edge",
    "Flow",
    "FlowResult",
    "Node",
    "NodeTrace",
    "OutboundRequest",
    "Rule",
    "builtin_registry",
    "debug_flow",
    "rule_from_config",
    "run_flow",
    "triggered_rules",
    "validate_flow",
]
