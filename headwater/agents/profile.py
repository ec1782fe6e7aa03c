"""Profile stage: the single writer of each profile.

Intake batches and profile operations (merges, core/profile_ops.py) come in keyed
``tenant:profile``; each profile's state lives in a key-value table (a Faust table in
the worker, streams/table_state.py). For a set of messages the stage folds every batch
into its profile (core/profiles.py) or applies the operation, sends the processed
batches, identity claims, follow-up operations and one snapshot per changed profile,
waits until the broker has acknowledged all of them, and only then writes the new
states to the table (its changelog first, then the local store).
Batches for a profile merged away are forwarded to its survivor. Before an operation the
identifiers of what came before it are claimed, as at the end of a set, so where the
sets are cut changes nothing (a replay cuts them elsewhere than the workers did; the
absorbed profile's last identifiers were lost when an ``absorb`` shared its set with
the batch that brought them). A crash at any point
therefore either loses nothing (outputs written, state ahead: the redelivery is
recognised by its offset) or redoes the work from older state (same deterministic
outputs, absorbed downstream by event-id and version checks).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from headwater.agents.profile_outputs import Outputs
from headwater.core.automation import Automation, automate
from headwater.core.flows.registry import ActionRegistry, builtin_registry
from headwater.core.offsets import record as record_offset
from headwater.core.offsets import seen
from headwater.core.profile_ops import apply_op, claims_to_send, op
from headwater.core.profiles import BatchResult, FoldRules, Profile, apply_batch
from headwater.core.tenancy import profile_key
from headwater.core.times import as_ms
from headwater.errors import HeadwaterError
from headwater.schemas import INTAKE_BATCH, PROFILE_OP
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.sender import Send
from headwater.streams.table_state import StateTable
from headwater.streams.topics import Topics

__all__ = ["AppliedBeforeMerge", "AutomationFor", "ProfileResult", "ProfileStage", "RulesFor"]

log = logging.getLogger(__name__)

# The fold rules in force for a tenant and environment.
RulesFor = Callable[[str, str], FoldRules]
# The rules, flows and segments in force for a tenant and environment, for an event
# received at a moment (epoch ms; live: what is configured now).
AutomationFor = Callable[[str, str, int], Automation]
# For a replay: whether the live stage applied this intake message (origin, offset) to
# the profile before it was merged away (live: never asked, a merged profile forwards).
AppliedBeforeMerge = Callable[[Profile, str, int], bool]


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
        table: StateTable,
        send: Send,
        dead_letters: DeadLetters,
        rules_for: RulesFor | None = None,
        automation_for: AutomationFor | None = None,
        registry: ActionRegistry | None = None,
        applied_before_merge: AppliedBeforeMerge | None = None,
    ) -> None:
        self._codec = codec
        self._applied_before_merge = applied_before_merge or (lambda profile, at, offset: False)
        self._automation_for = automation_for or (lambda tenant, env, at: Automation())
        self._registry = registry or builtin_registry()
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
        # ... before the state that reflects it
        await self._table.write({key: profile.dumps() for key, profile in work.states.items()})
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
                if changed or reclaim:  # claim what came before, as if the batch ended here
                    identifiers = claims_to_send(profile, rules.merge, force=reclaim)
                    work.pending += await self._out.claims(profile, identifiers, rules)
                    reclaim = False
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
                _mark_applied(profile, origin, message.offset or 0)
                work.states[key] = profile  # the offset is state too
                continue
            if profile.merged_into is not None and not self._applied_before_merge(
                profile, origin, message.offset or 0
            ):  # an alias: the survivor takes its events
                work.pending.append(await self._out.forward(record, profile.merged_into))
                _mark_applied(profile, origin, message.offset or 0)
                work.states[key] = profile
                continue
            received = as_ms(record["received_at"])
            automation = self._automation_for(profile.tenant, profile.env, received)
            before = None if automation.idle or not profile.version else profile.snapshot()
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
            if result.applied and not automation.idle:
                work.pending += await self._automate(profile, record, result, before, automation)
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

    async def _automate(
        self,
        profile: Profile,
        record: dict[str, Any],
        result: BatchResult,
        before: dict[str, Any] | None,
        automation: Automation,
    ) -> list[Awaitable[Any]]:
        """Rules, flows and segments for a folded batch: injected events back to intake,
        side effects to hw.outbound (core/automation.py)."""
        done = automate(
            profile, result.applied, before, automation, self._registry, record["source_id"]
        )
        for error in done.errors:
            log.warning("profile %s: %s", profile.id, error)
        pending = [await self._out.outbound(profile, request) for request in done.requests]
        if done.events:
            pending.append(await self._out.inject(record, profile.id, done.events))
        return pending

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


def _mark_applied(profile: Profile, origin: str, offset: int) -> None:
    """Remember a message handled without the fold (an operation, a forwarded batch)."""
    profile.applied_offsets[origin], _ = record_offset(profile.applied_offsets.get(origin), offset)


def _fallback_key(record: dict[str, Any]) -> bytes:
    if "op" in record:
        return profile_key(record["tenant"], record["env"], record["profile_id"])
    return profile_key(record["tenant"], record["env"], f"~{record['events'][0]['id']}")
