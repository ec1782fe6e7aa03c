"""Rules: which flows an event triggers. A rule names an event type, optionally a
source, optionally a condition (docs/conditions.md) and the consents the profile must
have granted; every matching rule's flow runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from headwater.core.conditions import compile_predicate, parse
from headwater.errors import ConditionSyntaxError, FlowInvalid

__all__ = ["Rule", "consent_granted", "rule_from_config", "triggered_rules"]


def consent_granted(profile: Mapping[str, Any], consent: str) -> bool:
    """Granted: ``consents.<name>`` is ``true`` or ``{"granted": true, ...}`` (what the
    grant-consent action writes)."""
    consents = profile.get("consents")
    value = consents.get(consent) if isinstance(consents, Mapping) else None
    return value is True or (isinstance(value, Mapping) and value.get("granted") is True)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    flow_id: str
    event_type: str
    source_id: str | None = None  # None: any source
    condition: str | None = None
    consents: tuple[str, ...] = ()
    enabled: bool = True

    def matches(
        self,
        *,
        event_type: str,
        source_id: str,
        scope: Mapping[str, Any],
        now_ms: int,
    ) -> bool:
        """Whether the event triggers this rule; ``scope`` holds the ``event``,
        ``profile`` (document) and ``session`` the condition reads."""
        if not self.enabled or event_type != self.event_type:
            return False
        if self.source_id is not None and source_id != self.source_id:
            return False
        profile = scope.get("profile")
        if self.consents and not all(
            consent_granted(profile if isinstance(profile, Mapping) else {}, c)
            for c in self.consents
        ):
            return False
        return self.condition is None or compile_predicate(self.condition)(scope, now_ms)


def triggered_rules(
    rules: Iterable[Rule],
    *,
    event_type: str,
    source_id: str,
    scope: Mapping[str, Any],
    now_ms: int,
) -> list[Rule]:
    """The rules an event triggers, in the order given (run their flows in that order)."""
    return [
        r
        for r in rules
        if r.matches(event_type=event_type, source_id=source_id, scope=scope, now_ms=now_ms)
    ]


def rule_from_config(data: Mapping[str, Any]) -> Rule:
    """A rule from its configuration entry; FlowInvalid lists what is wrong.

    ``{"id": "r1", "flow_id": "welcome", "event_type": "sign-up", "source_id": null,
    "condition": "profile.stats.visits = 1", "consents": ["marketing"]}``
    """
    problems: list[str] = []
    for key in ("id", "flow_id", "event_type"):
        if not isinstance(data.get(key), str) or not data.get(key):
            problems.append(f"{key} must be a non-empty string")
    source_id, condition = data.get("source_id"), data.get("condition")
    if source_id is not None and not isinstance(source_id, str):
        problems.append("source_id must be a string or null")
    if condition is not None:
        try:
            parse(str(condition))
        except ConditionSyntaxError as exc:
            problems.append(f"condition: {exc}")
    consents = data.get("consents", [])
    if not isinstance(consents, list) or not all(isinstance(c, str) for c in consents):
        problems.append("consents must be a list of consent names")
    if problems:
        raise FlowInvalid(problems, field=f"rule {data.get('id')}")
    return Rule(
        str(data["id"]),
        str(data["flow_id"]),
        str(data["event_type"]),
        source_id,
        None if condition is None else str(condition),
        tuple(consents),
        bool(data.get("enabled", True)),
    )
