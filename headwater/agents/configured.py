"""The configuration the profile agent folds and automates by, per tenant and
environment, parsed from the config topic and rebuilt when it changes."""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Iterable

from headwater.core.automation import FLOW_KIND, RULE_KIND, SEGMENT_KIND, Automation
from headwater.core.config import ConfigEntry
from headwater.core.flows.model import Flow
from headwater.core.flows.registry import ActionRegistry, builtin_registry
from headwater.core.flows.rules import rule_from_config
from headwater.core.flows.validation import validate_flow
from headwater.core.identity import MERGE_SETTINGS_KIND, MergeSettings
from headwater.core.mapping import BUILTIN_MAPPINGS, MAPPING_KIND, mapping_from_config
from headwater.core.profiles import FoldRules, ProfileLimits
from headwater.core.segments import segment_from_config
from headwater.core.validation import EVENT_TYPE_KIND, event_type_rules
from headwater.errors import HeadwaterError
from headwater.settings import Settings
from headwater.streams.config_log import ConfigLog

__all__ = ["ConfiguredRules", "RecordedAutomation", "build_automation", "profile_limits"]

log = logging.getLogger(__name__)


def profile_limits(settings: Settings) -> ProfileLimits:
    """How far events may grow a profile, as the operator set it."""
    return ProfileLimits(
        event_types=settings.profile_max_event_types,
        keys=settings.profile_max_keys,
        value_bytes=settings.profile_max_value_bytes,
    )


class ConfiguredRules:
    """Fold rules per tenant and environment: built-in mappings plus the event mappings
    and merge settings configured on the config topic, rebuilt when it changes."""

    def __init__(
        self, settings: Settings, config: ConfigLog, registry: ActionRegistry | None = None
    ) -> None:
        self._gap = settings.session_gap_minutes * 60_000
        self._limits = profile_limits(settings)
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
            limits=self._limits,
        )
        self._cache[(tenant, env)] = (self._config.generation, rules)
        return rules

    def automation(self, tenant: str, env: str, at_ms: int = 0) -> Automation:
        """Rules, flows and segments of a tenant and environment as configured now
        (``at_ms`` is ignored: see :class:`RecordedAutomation`)."""
        cached = self._automation.get((tenant, env))
        if cached is not None and cached[0] == self._config.generation:
            return cached[1]
        mine = [e for e in self._config.entries() if e.tenant == tenant and e.env == env]
        automation = build_automation(mine, self.registry)
        self._automation[(tenant, env)] = (self._config.generation, automation)
        return automation


def build_automation(entries: Iterable[ConfigEntry], registry: ActionRegistry) -> Automation:
    """Automation from config entries; a definition that does not validate is logged and
    left out, never half-applied."""
    flows: dict[str, Flow] = {}
    rules, segments = [], []
    for entry in entries:
        try:
            if entry.kind == FLOW_KIND:
                flows[entry.id] = validate_flow(
                    Flow.from_dict({**entry.data, "id": entry.id}), registry
                )
            elif entry.kind == RULE_KIND:
                rules.append(rule_from_config({**entry.data, "id": entry.id}))
            elif entry.kind == SEGMENT_KIND:
                segments.append(segment_from_config({**entry.data, "id": entry.id}))
        except HeadwaterError as exc:
            log.error("%s %s ignored: %s", entry.kind, entry.id, exc)
    return Automation(
        tuple(sorted(rules, key=lambda r: r.id)),
        flows,
        tuple(sorted(segments, key=lambda s: s.id)),
    )


class RecordedAutomation:
    """Rules, flows and segments as they were configured at a moment, from the config
    history topic (every version ever published): what a replay with ``--flows
    recorded`` runs each event with, at the time the event was received."""

    _KINDS = (FLOW_KIND, RULE_KIND, SEGMENT_KIND)

    def __init__(self, history: Iterable[ConfigEntry], registry: ActionRegistry) -> None:
        self._registry = registry
        self._changes: dict[tuple[str, str], list[ConfigEntry]] = {}
        for entry in history:
            if entry.kind in self._KINDS and entry.env is not None:
                self._changes.setdefault((entry.tenant, entry.env), []).append(entry)
        for changes in self._changes.values():
            changes.sort(key=lambda e: e.updated_at)
        self._cache: dict[tuple[str, str, int], Automation] = {}

    def __call__(self, tenant: str, env: str, at_ms: int) -> Automation:
        changes = self._changes.get((tenant, env), [])
        stamps = [int(e.updated_at.timestamp() * 1000) for e in changes]
        upto = bisect_right(stamps, at_ms)  # the changes made up to that moment
        cached = self._cache.get((tenant, env, upto))
        if cached is None:
            latest: dict[str, ConfigEntry] = {}
            for entry in changes[:upto]:
                latest[entry.key] = entry
            alive = [e for e in latest.values() if not e.deleted]
            cached = self._cache[(tenant, env, upto)] = build_automation(alive, self._registry)
        return cached
