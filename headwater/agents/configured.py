"""The configuration the profile agent folds and automates by, per tenant and
environment, parsed from the config topic and rebuilt when it changes."""

from __future__ import annotations

import logging

from headwater.core.automation import FLOW_KIND, RULE_KIND, SEGMENT_KIND, Automation
from headwater.core.flows.model import Flow
from headwater.core.flows.registry import ActionRegistry, builtin_registry
from headwater.core.flows.rules import rule_from_config
from headwater.core.flows.validation import validate_flow
from headwater.core.identity import MERGE_SETTINGS_KIND, MergeSettings
from headwater.core.mapping import BUILTIN_MAPPINGS, MAPPING_KIND, mapping_from_config
from headwater.core.profiles import FoldRules
from headwater.core.segments import segment_from_config
from headwater.core.validation import EVENT_TYPE_KIND, event_type_rules
from headwater.errors import HeadwaterError
from headwater.settings import Settings
from headwater.streams.config_log import ConfigLog

__all__ = ["ConfiguredRules"]

log = logging.getLogger(__name__)


class ConfiguredRules:
    """Fold rules per tenant and environment: built-in mappings plus the event mappings
    and merge settings configured on the config topic, rebuilt when it changes."""

    def __init__(
        self, settings: Settings, config: ConfigLog, registry: ActionRegistry | None = None
    ) -> None:
        self._gap = settings.session_gap_minutes * 60_000
        self._config = config
        self.registry = registry or builtin_registry()
        self._cache: dict[tuple[str, str], tuple[int, FoldRules]] = {}
        self._automation: dict[tuple[str, str], tuple[int, Automation]] = {}

    def __call__(self, tenant: str, env: str) -> FoldRules:
        cached = self._cache.get((tenant, env))
        if cached is not None and cached[0] == self._config.generation:
            return cached[1]
        mappings = list(BUILTIN_MAPPINGS)
        for entry in self._config.entries(MAPPING_KIND):
            if entry.tenant != tenant or entry.env != env:
                continue
            try:
                mappings.append(mapping_from_config(entry.data))
            except ValueError as exc:
                log.error("event mapping %s ignored: %s", entry.id, exc)
        merge = MergeSettings()
        for entry in self._config.entries(MERGE_SETTINGS_KIND):
            if entry.tenant == tenant and entry.env == env:
                try:
                    merge = MergeSettings.from_config(entry.data)
                except (ValueError, KeyError, TypeError) as exc:
                    log.error("merge settings %s ignored: %s", entry.id, exc)
        event_types = []
        for entry in self._config.entries(EVENT_TYPE_KIND):
            if entry.tenant == tenant and entry.env == env:
                try:
                    event_types.append(event_type_rules(entry.data))
                except ValueError as exc:
                    log.error("event type %s ignored: %s", entry.id, exc)
        rules = FoldRules(
            session_gap_ms=self._gap,
            mappings=tuple(mappings),
            merge=merge,
            event_types=tuple(event_types),
        )
        self._cache[(tenant, env)] = (self._config.generation, rules)
        return rules

    def automation(self, tenant: str, env: str) -> Automation:
        """Rules, flows and segments of a tenant and environment; a definition that does
        not validate is logged and left out, never half-applied."""
        cached = self._automation.get((tenant, env))
        if cached is not None and cached[0] == self._config.generation:
            return cached[1]
        mine = [e for e in self._config.entries() if e.tenant == tenant and e.env == env]
        flows: dict[str, Flow] = {}
        rules, segments = [], []
        for entry in mine:
            try:
                if entry.kind == FLOW_KIND:
                    flow = validate_flow(
                        Flow.from_dict({**entry.data, "id": entry.id}), self.registry
                    )
                    flows[flow.id] = flow
                elif entry.kind == RULE_KIND:
                    rules.append(rule_from_config({**entry.data, "id": entry.id}))
                elif entry.kind == SEGMENT_KIND:
                    segments.append(segment_from_config({**entry.data, "id": entry.id}))
            except HeadwaterError as exc:
                log.error("%s %s ignored: %s", entry.kind, entry.id, exc)
        automation = Automation(
            tuple(sorted(rules, key=lambda r: r.id)),
            flows,
            tuple(sorted(segments, key=lambda s: s.id)),
        )
        self._automation[(tenant, env)] = (self._config.generation, automation)
        return automation
