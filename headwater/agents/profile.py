"""Profile stage: the single writer of each profile.

Intake batches and profile operations (merges, core/profile_ops.py) come in keyed
``tenant:env:profile``; each profile's state lives in a key-value table (a Faust table in
the worker, streams/table_state.py). For a set of messages the stage folds every batch
into its profile (core/profiles.py) or applies the operation, sends the processed
batches (one record per profile for its batches between operations:
agents/processed.py), identity claims, follow-up operations and one snapshot per
changed profile, waits until the broker has acknowledged all of them, and only then
writes the new states to the table (its changelog first, then the local store).
Batches for a profile merged away are forwarded to its survivor. Before an operation the
identifiers of what came before it are claimed, as at the end of a set, so where the
sets are cut changes nothing (a replay cuts them elsewhere than the workers did; the
absorbed profile's last identifiers were lost when an ``absorb`` shared its set with
the batch that brought them). A crash at any point
therefore either loses nothing (outputs written, state ahead: the redelivery is
recognised by its offset) or redoes the work from older state (same deterministic
outputs, absorbed downstream by event-id and version checks).

Sizes are bounded so that one tenant cannot stall a partition: a message whose outputs
include a record over ``worker_max_record_bytes``, or that grows its profile's state past
``profile_max_bytes``, is dead-lettered with the reason before any of its outputs is
sent, and the profile stays as it was before it. Should the broker still refuse a record
for good (its own limit is lower), the messages of that profile are dead-lettered and
its state is not written; the rest of the batch goes on.

A message at fault itself (a JSON field that is not an object, an output made of it that
does not fit its schema: ``MESSAGE_FAULTS``) is dead-lettered in the same way, alone. Any
other error is not the messages' fault and is raised: nothing is dead-lettered and no
state is written, and the worker exits before the batch is acknowledged, so every
message comes again (agents/worker.py ``_run_in_batches``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from headwater.agents.configured import profile_limits
from headwater.agents.processed import Coalesced, Part
from headwater.agents.profile_outputs import Outputs
from headwater.core.automation import Automation, automate
from headwater.core.flows.registry import ActionRegistry, builtin_registry
from headwater.core.imports import IMPORT_KEY, flows_off
from headwater.core.offsets import record as record_offset
from headwater.core.offsets import seen
from headwater.core.profile_ops import apply_op, claims_to_send, op
from headwater.core.profiles import BatchResult, FoldRules, Profile, apply_batch
from headwater.core.records import IntakeBatch, ProfileOp, json_object
from headwater.core.tenancy import profile_key
from headwater.core.times import as_ms
from headwater.errors import HeadwaterError, InputError, RecordRejected, SchemaError
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.pipeline_records import PipelineRecords, Record
from headwater.streams.sender import Send
from headwater.streams.table_state import StateTable
from headwater.streams.topics import Topics

__all__ = ["AppliedBeforeMerge", "AutomationFor", "ProfileResult", "ProfileStage", "RulesFor"]

log = logging.getLogger(__name__)

IMPORT_MARK = f'"{IMPORT_KEY}"'.encode()  # in a request context that may hold the mark

# What a message itself can be at fault for: a JSON field that is not the object its
# schema says, an output made of it that does not fit its schema, data a check refuses.
# Such a message is dead-lettered alone; any other error is not the message's fault.
MESSAGE_FAULTS: tuple[type[Exception], ...] = (SchemaError, InputError, orjson.JSONDecodeError)

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
        self._applied_before_merge = applied_before_merge or (lambda profile, at, offset: False)
        self._automation_for = automation_for or (lambda tenant, env, at: Automation())
        self._registry = registry or builtin_registry()
        self._table = table
        self._dead = dead_letters
        default = FoldRules(
            session_gap_ms=settings.session_gap_minutes * 60_000, limits=profile_limits(settings)
        )
        self._rules_for = rules_for or (lambda tenant, env: default)
        self._topics = Topics(settings.topic_prefix)
        self._records = PipelineRecords(codec, self._topics)
        self._out = Outputs(codec, self._topics, send)
        self._max_profile = settings.profile_max_bytes
        self._max_record = settings.worker_max_record_bytes

    async def handle(self, messages: Sequence[SourceMessage]) -> ProfileResult:
        work = _Work()
        grouped = await self._decoded(messages, work)
        for key, items in grouped.items():
            profile_id = items[0].record["profile_id"]
            if profile_id is None:  # profile-less batches: passed on as they came
                await self._profile_less(key, items, work)
            else:
                await self._fold(key, profile_id, items, work)
        # every output acknowledged before the state that reflects it is written
        for key, rejected in await work.acknowledged():
            await self._refused(key, grouped[key], rejected, work)
        await self._table.write(work.states)
        return ProfileResult(
            len(messages), work.applied, work.duplicates, work.replayed, work.dead, work.late
        )

    async def _decoded(
        self, messages: Sequence[SourceMessage], work: _Work
    ) -> dict[bytes, list[_Item]]:
        """The messages decoded by their topic, grouped by key (profile) in log order;
        those that do not decode are dead-lettered."""
        grouped: dict[bytes, list[_Item]] = {}
        for message in messages:
            item: _Item
            try:
                if message.topic == self._topics.profile_ops:
                    item = _Op(message, self._records.read_op(message.value))
                else:
                    item = _Batch(message, self._records.read_intake(message.value))
            except HeadwaterError as exc:
                await self._dead.record(message, f"undecodable message: {exc}")
                work.dead += 1
                continue
            grouped.setdefault(message.key or _fallback_key(item), []).append(item)
        return grouped

    async def _profile_less(self, key: bytes, items: list[_Item], work: _Work) -> None:
        """Profile-less batches: checked and passed on, nothing folded; those of a key
        in one processed record (processed.py), as a profile's."""
        first = items[0].record
        rules = self._rules_for(first["tenant"], first["env"])
        processed = self._out.coalesce(key, None, self._max_record)
        for item in items:
            if not isinstance(item, _Batch) or item.record["profile_id"] is not None:
                await self._fault(item.message, _NOT_PROFILE_LESS, work)
                continue
            try:
                part = processed.profile_less(item.message.value, item.record, rules)
            except MESSAGE_FAULTS as exc:
                await self._fault(item.message, _cannot_apply(exc), work)
                continue
            if (problem := processed.oversized(part)) is not None:
                await self._fault(item.message, problem, work)
                continue
            processed.add(part)
            work.applied += len(item.record["events"])
        work.sent(key, await self._out.send(processed.take()))

    def _oversized(self, records: list[Record]) -> str | None:
        """Why ``records`` cannot be sent (one is over the record limit), or None."""
        for record in records:
            if len(record.value) > self._max_record:
                return (
                    f"output to {record.topic} would be {len(record.value)} bytes, over "
                    f"worker_max_record_bytes ({self._max_record}); nothing of it was sent"
                )
        return None

    async def _fault(self, message: SourceMessage, reason: str, work: _Work) -> None:
        """``message`` itself cannot be applied: dead-lettered, nothing of it sent."""
        await self._dead.record(message, reason)
        work.dead += 1

    async def _refused(
        self, key: bytes, items: list[_Item], rejected: RecordRejected, work: _Work
    ) -> None:
        """The broker refused an output of this profile for good: its messages are
        dead-lettered and its state stays as it was (outputs already taken stand)."""
        log.error("profile %r: an output was refused for good: %s", key, rejected)
        work.states.pop(key, None)
        for item in items:
            await self._fault(item.message, f"output refused by the broker: {rejected}", work)

    async def _fold(self, key: bytes, profile_id: str, items: list[_Item], work: _Work) -> None:
        """The messages of one profile, in order, each applied to the state the one
        before it left (:meth:`_step`); what each causes is sent before the next, but
        its processed batch is gathered into one record for the run of messages up to
        the next operation or the end (processed.py). A message at fault, or one whose
        outputs or state would be too large, is dead-lettered and the profile goes back
        to the state before it. Any other error
        is raised: not the messages' fault, so none of them is dead-lettered and no
        state is written (the worker stops; they come again)."""
        tenant, env = items[0].record["tenant"], items[0].record["env"]
        kept = self._table.get(key)  # the state as of the last message kept
        profile = self._load(kept, tenant, env, profile_id)
        rules = self._rules_for(tenant, env)
        changed = reclaim = False
        processed = self._out.coalesce(key, profile_id, self._max_record)
        for item in items:
            message = item.message
            origin = f"{message.topic}/{message.partition}"
            if seen(profile.applied_offsets.get(origin), message.offset or 0):
                work.replayed += 1
                continue
            if isinstance(item, _Op):  # what came before goes first, as if the set ended
                work.sent(key, await self._out.send(processed.take()))
                if changed or reclaim:
                    kept = await self._claim(key, profile, rules, work, force=reclaim) or kept
                    reclaim = False
            try:
                step = self._step(key, profile, item, rules, processed)
            except MESSAGE_FAULTS as exc:
                problem: str | None = _cannot_apply(exc)
            else:
                state = step.profile.dumps()
                problem = (
                    self._oversized(step.records)
                    or processed.oversized(step.part)
                    or self._outgrown(state, kept)
                )
            if problem is not None:  # back to the profile before this message
                await self._fault(message, problem, work)
                profile = self._load(kept, tenant, env, profile_id)
                continue
            work.sent(key, await self._out.send(step.records))
            if step.part is not None:
                processed.add(step.part)
            work.add(step)
            profile, kept = step.profile, state
            changed = (changed and not step.forgot) or step.changed
            reclaim = (reclaim and not step.forgot) or step.reclaim
            work.states[key] = state
        work.sent(key, await self._out.send(processed.take()))
        if changed or reclaim:  # the profile's identifiers were (re)set: part of its state
            await self._claim(key, profile, rules, work, force=reclaim)
        if changed:
            work.sent(key, await self._out.send([self._out.snapshot(key, profile)]))

    async def _claim(
        self, key: bytes, profile: Profile, rules: FoldRules, work: _Work, *, force: bool
    ) -> bytes | None:
        """Claim the profile's identifiers if they changed (all of them when ``force``);
        the state that records them, or None when there was nothing to claim."""
        identifiers = claims_to_send(profile, rules.merge, force=force)
        if not identifiers:
            return None
        work.sent(key, await self._out.send(self._out.claims(profile, identifiers, rules)))
        state = work.states[key] = profile.dumps()
        return state

    def _outgrown(self, state: bytes, before: bytes | None) -> str | None:
        """Why a new state may not be kept (it grew past the profile limit), or None. A
        state already over the limit (the limit was lowered) may change without growing."""
        if len(state) <= self._max_profile or len(state) <= len(before or b""):
            return None
        return (
            f"profile would grow to {len(state)} bytes, over profile_max_bytes "
            f"({self._max_profile}); the message was not applied"
        )

    def _step(
        self, key: bytes, profile: Profile, item: _Item, rules: FoldRules, processed: Coalesced
    ) -> _Step:
        """One message applied to ``profile`` (in place, or replaced): what to send.
        Nothing is sent here, so a message that fails leaves nothing behind but the
        changed ``profile``, which the caller drops."""
        origin, offset = f"{item.message.topic}/{item.message.partition}", item.message.offset
        offset = offset or 0
        if isinstance(item, _Op):
            return self._operation(key, profile, item.record, rules, origin, offset)
        if profile.merged_into is not None and not self._applied_before_merge(
            profile, origin, offset
        ):
            return self._forward(profile, item.record, origin, offset)
        return self._batch(key, profile, item, rules, origin, offset, processed)

    def _operation(
        self,
        key: bytes,
        profile: Profile,
        record: ProfileOp,
        rules: FoldRules,
        origin: str,
        offset: int,
    ) -> _Step:
        """A profile operation (core/profile_ops.py): a merge, a repoint, a reclaim or
        a forget."""
        step = _Step(profile)
        outcome = apply_op(profile, record, rules.merge)
        if outcome.note:
            log.info("profile %s: %s: %s", profile.id, record["op"], outcome.note)
        step.records += [self._out.op(follow) for follow in outcome.ops]
        if outcome.forget:
            step.records += self._out.releases(profile)
            step.profile = profile = profile.forgotten()
            step.records.append(self._out.snapshot(key, profile))
            step.forgot = True
        step.reclaim, step.changed = outcome.reclaim, outcome.changed
        _mark_applied(profile, origin, offset)  # the offset is state too
        return step

    def _forward(self, profile: Profile, record: IntakeBatch, origin: str, offset: int) -> _Step:
        """A batch for an alias (a profile merged away): its survivor takes the events."""
        assert profile.merged_into is not None
        step = _Step(profile, [self._out.forward(record, profile.merged_into)])
        _mark_applied(profile, origin, offset)
        return step

    def _batch(
        self,
        key: bytes,
        profile: Profile,
        item: _Batch,
        rules: FoldRules,
        origin: str,
        offset: int,
        processed: Coalesced,
    ) -> _Step:
        """An intake batch folded into the profile (core/profiles.py), with the
        automation it triggers."""
        record = item.record
        received = as_ms(record["received_at"])
        automation = self._automation_for(profile.tenant, profile.env, received)
        before = None if automation.idle or not profile.version else profile.snapshot()
        result = apply_batch(profile, record, origin, offset, rules)
        step = _Step(profile, duplicates=result.duplicates, applied=len(result.applied))
        if result.late:
            step.late = True
            log.warning(
                "%s offset %s arrived after later offsets of profile %r; applied",
                origin,
                offset,
                key,
            )
        step.changed = True
        if result.applied and not automation.idle:
            step.records += self._automate(profile, record, result, before, automation)
        for previous in result.aliases:  # explicit alias: merge the earlier profile in
            absorb = op("absorb", profile.tenant, profile.env, previous, profile.id)
            step.records.append(self._out.op(absorb))
        if result.applied or result.sessions or result.absorbed:  # else nothing to store
            step.part = processed.applied(item.message.value, result)
        return step

    def _automate(
        self,
        profile: Profile,
        record: IntakeBatch,
        result: BatchResult,
        before: dict[str, Any] | None,
        automation: Automation,
    ) -> list[Record]:
        """Rules, flows and segments for a folded batch: injected events back to intake,
        side effects to hw.outbound (core/automation.py)."""
        raw = record["context"]  # parsed only when it may hold an import mark
        flows = IMPORT_MARK not in raw or not flows_off(json_object(raw, "context"))
        done = automate(
            profile,
            result.applied,
            before,
            automation,
            self._registry,
            record["source_id"],
            flows=flows,
        )
        for error in done.errors:
            log.warning("profile %s: %s", profile.id, error)
        records = [self._out.outbound(profile, request) for request in done.requests]
        if done.events:
            records.append(self._out.inject(record, profile.id, done.events))
        return records

    def _load(self, raw: bytes | None, tenant: str, env: str, profile_id: str) -> Profile:
        if raw is not None:
            return Profile.loads(raw)
        return Profile.new(tenant, env, profile_id)


@dataclass(frozen=True, slots=True)
class _Op:
    """A message from the operations topic, decoded."""

    message: SourceMessage
    record: ProfileOp


@dataclass(frozen=True, slots=True)
class _Batch:
    """A message from the intake topic, decoded."""

    message: SourceMessage
    record: IntakeBatch


_Item = _Op | _Batch


@dataclass
class _Step:
    """One message applied: the profile after it and what it sends."""

    profile: Profile
    records: list[Record] = field(default_factory=list)
    part: Part | None = None  # its processed batch, sent with the profile's others
    changed: bool = False
    reclaim: bool = False
    forgot: bool = False  # the profile was forgotten: earlier changes are gone with it
    applied: int = 0
    duplicates: int = 0
    late: bool = False


@dataclass
class _Work:
    """What one call of ``ProfileStage.handle`` has to send and store."""

    pending: list[tuple[bytes, Awaitable[Any]]] = field(default_factory=list)
    states: dict[bytes, bytes | None] = field(default_factory=dict)
    applied: int = 0
    duplicates: int = 0
    replayed: int = 0
    late: int = 0
    dead: int = 0

    def sent(self, key: bytes, acks: list[Awaitable[Any]]) -> None:
        self.pending += [(key, ack) for ack in acks]

    def add(self, step: _Step) -> None:
        self.applied += step.applied
        self.duplicates += step.duplicates
        self.late += int(step.late)

    async def acknowledged(self) -> list[tuple[bytes, RecordRejected]]:
        """Wait for every acknowledgement; the profiles with a record refused for good
        (any other failure is raised)."""
        outcomes = await asyncio.gather(*(ack for _, ack in self.pending), return_exceptions=True)
        refused: dict[bytes, RecordRejected] = {}
        for (key, _), outcome in zip(self.pending, outcomes, strict=True):
            if isinstance(outcome, RecordRejected):
                refused.setdefault(key, outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
        return list(refused.items())


def _mark_applied(profile: Profile, origin: str, offset: int) -> None:
    """Remember a message handled without the fold (an operation, a forwarded batch)."""
    profile.applied_offsets[origin], _ = record_offset(profile.applied_offsets.get(origin), offset)


def _fallback_key(item: _Item) -> bytes:
    if isinstance(item, _Op):
        return profile_key(item.record["tenant"], item.record["env"], item.record["profile_id"])
    batch = item.record
    return profile_key(batch["tenant"], batch["env"], f"~{batch['events'][0]['id']}")


_NOT_PROFILE_LESS = "keyed as profile-less batches are, but not one of them"


def _cannot_apply(exc: Exception) -> str:
    return f"message cannot be applied: {exc}"
