"""Profile stage: the single writer of each profile.

Intake batches and profile operations (merges, core/profile_ops.py) come in keyed
``tenant:profile``; each profile's state lives in a key-value table (a Faust table in
the worker). For a set of messages the stage folds every batch into its profile
(core/profiles.py) or applies the operation, sends the processed batches, identity
claims, follow-up operations and one snapshot per changed profile, waits until the
broker has acknowledged all of them, and only then writes the new states to the table.
Batches for a profile merged away are forwarded to its survivor. A crash at any point
therefore either loses nothing (outputs written, state ahead: the redelivery is
recognised by its offset) or redoes the work from older state (same deterministic
outputs, absorbed downstream by event-id and version checks).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from headwater.agents.profile_outputs import Outputs, Send
from headwater.core.identity import MERGE_SETTINGS_KIND, MergeSettings
from headwater.core.mapping import BUILTIN_MAPPINGS, MAPPING_KIND, mapping_from_config
from headwater.core.offsets import record as record_offset
from headwater.core.offsets import seen
from headwater.core.profile_ops import apply_op, claims_to_send, op
from headwater.core.profiles import FoldRules, Profile, apply_batch
from headwater.core.validation import EVENT_TYPE_KIND, event_type_rules
from headwater.errors import HeadwaterError
from headwater.schemas import INTAKE_BATCH, PROFILE_OP
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigLog
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.topics import Topics

__all__ = ["ConfiguredRules", "ProfileResult", "ProfileStage", "RulesFor", "Send"]

log = logging.getLogger(__name__)

# The fold rules in force for a tenant and environment.
RulesFor = Callable[[str, str], FoldRules]


@dataclass(frozen=True, slots=True)
class ProfileResult:
    messages: int
    applied: int
    duplicates: int
    replayed: int
    dead_lettered: int
    late: int = 0


class ProfileStage:
    def __init__(
        self,
        settings: Settings,
        codec: AvroCodec,
        table: MutableMapping[bytes, bytes],
        send: Send,
        dead_letters: DeadLetters,
        rules_for: RulesFor | None = None,
    ) -> None:
        self._codec = codec
        self._table = table
        self._dead = dead_letters
        default = FoldRules(session_gap_ms=settings.session_gap_minutes * 60_000)
        self._rules_for = rules_for or (lambda tenant, env: default)
        self._topics = Topics(settings.topic_prefix)
        self._out = Outputs(codec, self._topics, send)

    async def handle(self, messages: Sequence[SourceMessage]) -> ProfileResult:
        grouped: dict[bytes, list[tuple[SourceMessage, dict[str, Any]]]] = {}
        dead = 0
        for message in messages:
            is_op = message.topic == self._topics.profile_ops
            try:
                record = self._codec.decode(PROFILE_OP if is_op else INTAKE_BATCH, message.value)
            except HeadwaterError as exc:
                await self._dead.record(message, f"undecodable message: {exc}")
                dead += 1
                continue
            key = message.key or _fallback_key(record)
            grouped.setdefault(key, []).append((message, record))

        work = _Work()
        for key, items in grouped.items():
            first = items[0][1]
            if "op" not in first and first["profile_id"] is None:  # profile-less: as they came
                rules = self._rules_for(first["tenant"], first["env"])
                for message, batch in items:
                    work.pending.append(
                        await self._out.profile_less(key, message.value, batch, rules)
                    )
                    work.applied += len(batch["events"])
                continue
            try:
                await self._fold(key, items, work)
            except Exception as exc:  # one bad profile or batch must not stop the partition
                log.exception("profile %r: fold failed; dead-lettering its messages", key)
                for message, _ in items:
                    await self._dead.record(message, f"profile fold failed: {exc!r}")
                    dead += 1
        await asyncio.gather(*work.pending)  # every output acknowledged ...
        for key, profile in work.states.items():  # ... before the state that reflects it
            self._table[key] = profile.dumps()
        return ProfileResult(
            len(messages), work.applied, work.duplicates, work.replayed, dead, work.late
        )

    async def _fold(
        self, key: bytes, items: list[tuple[SourceMessage, dict[str, Any]]], work: _Work
    ) -> None:
        first = items[0][1]
        profile = self._load(key, first["tenant"], first["env"], first["profile_id"])
        rules = self._rules_for(profile.tenant, profile.env)
        changed = reclaim = False
        for message, record in items:
            origin = f"{message.topic}/{message.partition}"
            if seen(profile.applied_offsets.get(origin), message.offset or 0):
                work.replayed += 1
                continue
            if "op" in record:
                outcome = apply_op(profile, record, rules.merge)
                if outcome.note:
                    log.info("profile %s: %s: %s", profile.id, record["op"], outcome.note)
                for follow in outcome.ops:
                    work.pending.append(await self._out.op(follow))
                if outcome.forget:
                    work.pending += await self._out.releases(profile)
                    profile = profile.forgotten()
                    work.pending.append(await self._out.snapshot(key, profile))
                    changed = reclaim = False
                reclaim |= outcome.reclaim
                changed |= outcome.changed
                profile.applied_offsets[origin], _ = record_offset(
                    profile.applied_offsets.get(origin), message.offset or 0
                )
                work.states[key] = profile  # the offset is state too
                continue
            if profile.merged_into is not None:  # an alias: the survivor takes its events
                work.pending.append(await self._out.forward(record, profile.merged_into))
                profile.applied_offsets[origin], _ = record_offset(
                    profile.applied_offsets.get(origin), message.offset or 0
                )
                work.states[key] = profile
                continue
            result = apply_batch(profile, record, origin, message.offset or 0, rules)
            work.duplicates += result.duplicates
            if result.late:
                work.late += 1
                log.warning(
                    "%s offset %s arrived after later offsets of profile %r; applied",
                    origin,
                    message.offset,
                    key,
                )
            work.applied += len(result.applied)
            changed = True
            for previous in result.aliases:  # explicit alias: merge the earlier profile in
                absorb = op("absorb", profile.tenant, profile.env, previous, profile.id)
                work.pending.append(await self._out.op(absorb))
            work.pending.append(await self._out.processed(key, message.value, profile.id, result))
        if changed or reclaim:
            identifiers = claims_to_send(profile, rules.merge, force=reclaim)
            work.pending += await self._out.claims(profile, identifiers, rules)
        if changed:
            work.pending.append(await self._out.snapshot(key, profile))
            work.states[key] = profile

    def _load(self, key: bytes, tenant: str, env: str, profile_id: str) -> Profile:
        raw = self._table.get(key)
        if raw is not None:
            return Profile.loads(raw)
        return Profile.new(tenant, env, profile_id)


@dataclass
class _Work:
    """What one call of ``ProfileStage.handle`` has to send and store."""

    pending: list[Awaitable[Any]] = field(default_factory=list)
    states: dict[bytes, Profile] = field(default_factory=dict)
    applied: int = 0
    duplicates: int = 0
    replayed: int = 0
    late: int = 0


def _fallback_key(record: dict[str, Any]) -> bytes:
    if "op" in record:
        return f"{record['tenant']}:{record['profile_id']}".encode()
    return f"{record['tenant']}:~{record['events'][0]['id']}".encode()


class ConfiguredRules:
    """Fold rules per tenant and environment: built-in mappings plus the event mappings
    and merge settings configured on the config topic, rebuilt when it changes."""

    def __init__(self, settings: Settings, config: ConfigLog) -> None:
        self._gap = settings.session_gap_minutes * 60_000
        self._config = config
        self._cache: dict[tuple[str, str], tuple[int, FoldRules]] = {}

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
