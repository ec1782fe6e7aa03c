"""Profiles as a deterministic fold over the intake log (pure: no I/O, no clocks).

The profile agent keeps one :class:`Profile` per ``tenant:profile`` and folds intake
batches into it with :func:`apply_batch`. Two guards make the fold safe under
at-least-once delivery:

- the intake offsets already applied, per partition, exactly within a bounded window
  (core/offsets.py): a redelivered batch (after a crash or a rebalance) changes
  nothing, and a batch that arrives after later ones is still applied;
- a bounded memory of recent event ids: the same event sent twice by a client
  (retries, ``messageId``) is counted once.

Everything depends on event time and the batch, never on wall-clock time, so replaying
the log into empty state rebuilds the same profiles.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from headwater.core.identity import MergeSettings
from headwater.core.mapping import (
    BUILTIN_MAPPINGS,
    EventMapping,
    Operation,
    claimed_sources,
    copied_traits,
    get_path,
    is_missing,
    set_path,
)
from headwater.core.offsets import AppliedOffsets, record, seen, upgrade
from headwater.core.records import IntakeBatch, IntakeEvent, json_object
from headwater.core.sessions import DEFAULT_GAP_MS, SessionState, place_event
from headwater.core.times import as_ms
from headwater.core.validation import Checked, EventTypeRules

__all__ = [
    "AppliedEvent",
    "BatchResult",
    "FoldRules",
    "Profile",
    "ProfileLimits",
    "apply_batch",
    "check_event",
    "event_digest",
    "is_remembered",
]

RECENT_EVENT_IDS = 512
_DIGEST = 16  # hex characters of one remembered event id (a 64-bit BLAKE2b digest)


def event_digest(event_id: str) -> str:
    """How a profile remembers an applied event id (``Profile.recent``)."""
    return hashlib.blake2b(event_id.encode(), digest_size=8).hexdigest()


def is_remembered(recent: str, digest: str) -> bool:
    """Whether ``digest`` is one of the digests of the event ids a profile applied last
    (``Profile.recent``, digests of ``_DIGEST`` characters end to end): an event whose
    :func:`event_digest` is among them is a duplicate. A search of the string, at digest
    boundaries only, not a set of all 512 made for every batch."""
    at = recent.find(digest)
    while at != -1:
        if at % _DIGEST == 0:
            return True
        at = recent.find(digest, at + 1)
    return False


@dataclass(frozen=True, slots=True)
class ProfileLimits:
    """How far events (public input) may grow a profile; the settings of the same names
    with a ``profile_max_`` prefix (docs/operations.md). An event over a limit is applied
    without the change that would pass it, and names the limit in ``AppliedEvent.limits``.
    They are part of the fold: a replay must run with the same limits."""

    event_types: int = 300  # distinct event types counted in stats.by_type
    keys: int = 100  # keys of one object (items of one list) under traits, data, ...
    value_bytes: int = 2048  # one value written into the profile, with its path, as JSON


@dataclass(frozen=True)
class FoldRules:
    session_gap_ms: int = DEFAULT_GAP_MS
    mappings: tuple[EventMapping, ...] = BUILTIN_MAPPINGS
    merge: MergeSettings = field(default_factory=MergeSettings)
    event_types: tuple[EventTypeRules, ...] = ()  # validation and reshaping
    limits: ProfileLimits = field(default_factory=ProfileLimits)


@dataclass(slots=True)
class Profile:
    id: str
    tenant: str
    env: str
    version: int = 0
    ids: list[str] = field(default_factory=list)
    traits: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    consents: dict[str, Any] = field(default_factory=dict)
    interests: dict[str, Any] = field(default_factory=dict)
    segments: list[str] = field(default_factory=list)
    events: int = 0
    visits: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    first_seen: int | None = None  # event time, epoch ms
    last_seen: int | None = None
    field_times: dict[str, int] = field(default_factory=dict)  # path -> event time of update
    sessions: list[SessionState] = field(default_factory=list)
    # "topic/partition" -> intake offsets applied there (core/offsets.py)
    applied_offsets: dict[str, AppliedOffsets] = field(default_factory=dict)
    identifiers: list[str] = field(default_factory=list)  # hashed merge keys claimed
    merged_into: str | None = None  # set once merged away: an alias of that profile
    absorbed: list[str] = field(default_factory=list)  # profiles merged into this one
    merges: int = 0
    erased: bool = False  # forgotten (right to be forgotten) and nothing applied since
    # digests of the last RECENT_EVENT_IDS applied event ids, oldest first, as one string:
    # a fifth of the state a list of ids took, written to the changelog on every change
    recent: str = ""

    @classmethod
    def new(cls, tenant: str, env: str, profile_id: str) -> Profile:
        return cls(id=profile_id, tenant=tenant, env=env, ids=[profile_id])

    def forgotten(self) -> Profile:
        """What is left after the right to be forgotten: nothing about the person, only
        the intake offsets applied (so a redelivery cannot bring anything back) and a
        version above the last, so the deletion wins over every older snapshot."""
        blank = Profile.new(self.tenant, self.env, self.id)
        blank.applied_offsets = self.applied_offsets
        blank.version = self.version + 1
        blank.erased = True
        return blank

    # --- storage in the agent's table ---------------------------------------------------

    def dumps(self) -> bytes:
        state = {name: getattr(self, name) for name in self.__slots__ if name != "sessions"}
        state["sessions"] = [s.to_dict() for s in self.sessions]
        return orjson.dumps(state)

    @classmethod
    def loads(cls, raw: bytes) -> Profile:
        state = orjson.loads(raw)
        state["sessions"] = [SessionState.from_dict(s) for s in state["sessions"]]
        state["applied_offsets"] = upgrade(state)
        if "recent_ids" in state:  # written before ids were kept as digests
            state["recent"] = "".join(event_digest(i) for i in state.pop("recent_ids"))
        return cls(**state)

    # --- what the search engine shows -----------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The profile document (``id`` is the document id, ``version`` the external
        version); a forgotten profile's snapshot says only that, and its document is
        deleted."""
        if self.erased:
            return {"id": self.id, "tenant": self.tenant, "env": self.env, "erased": True}
        return {
            "id": self.id,
            "tenant": self.tenant,
            "env": self.env,
            "version": self.version,
            "ids": self.ids + self.identifiers,
            "merged_into": self.merged_into,
            "merges": self.merges,
            "traits": self.traits,
            "data": self.data,
            "consents": self.consents,
            "interests": self.interests,
            "segments": self.segments,
            "stats": {"events": self.events, "visits": self.visits, "by_type": self.by_type},
            "metadata": {
                "time": {"first_visit": self.first_seen, "last_visit": self.last_seen},
                "field_times": self.field_times,
            },
        }


@dataclass(frozen=True, slots=True)
class AppliedEvent:
    """An intake event as applied: its resolved session and the profile version after it."""

    event: IntakeEvent
    session_id: str
    profile_version: int
    errors: list[str] = field(default_factory=list)  # invalid for its event type: why
    properties: bytes | None = None  # reshaped properties, None when unchanged
    # the profile limits the event reached ("<setting>: <where>"); what would have passed
    # them was left out of the profile
    limits: list[str] = field(default_factory=list)


@dataclass(slots=True)
class BatchResult:
    applied: list[AppliedEvent] = field(default_factory=list)
    sessions: dict[str, SessionState] = field(default_factory=dict)  # changed, by id
    absorbed: dict[str, str] = field(default_factory=dict)  # session id -> merged into
    duplicates: int = 0
    replayed: bool = False  # the whole batch was applied before (a redelivery)
    # profiles an ``alias`` event names as earlier ids of this one: to merge in
    aliases: list[str] = field(default_factory=list)
    late: bool = False  # applied after batches with higher offsets (filled a hole)


def apply_batch(
    profile: Profile, batch: IntakeBatch, origin: str, offset: int, rules: FoldRules
) -> BatchResult:
    """Fold one decoded intake batch into ``profile`` (in place).

    ``origin`` names the log partition the batch came from (``topic/partition``) and
    ``offset`` its position there: both make redelivery harmless.
    """
    result = BatchResult()
    if seen(profile.applied_offsets.get(origin), offset):
        result.replayed = True
        return result
    profile.applied_offsets[origin], result.late = record(
        profile.applied_offsets.get(origin), offset
    )
    request_context = json_object(batch["context"], "context")
    recent = profile.recent
    applied_digests: list[str] = []
    in_batch: set[str] = set()
    for event in batch["events"]:
        digest = event_digest(event["id"])
        if digest in in_batch or is_remembered(recent, digest):
            result.duplicates += 1
            continue
        in_batch.add(digest)
        applied_digests.append(digest)
        time = as_ms(event["time"])
        context = request_context
        if event["context"] != b"{}":
            context = {**request_context, **json_object(event["context"], "events[].context")}
        checked = check_event(event, context, batch["source_id"], rules)
        if checked.properties is not None:
            event = {**event, "properties": checked.properties}
        session, created, absorbed = place_event(
            profile.sessions,
            time=time,
            session_id=batch["session_id"] or event["id"],
            client_named=not batch["session_assigned"] and batch["session_id"] is not None,
            event_id=event["id"],
            context=context,
            gap=rules.session_gap_ms,
        )
        profile.visits += int(created) - len(absorbed)
        for gone in absorbed:
            result.sessions.pop(gone.id, None)
            result.absorbed[gone.id] = session.id
        result.sessions[session.id] = session
        profile.erased = False
        profile.events += 1
        limits: list[str] = []
        if event["type"] in profile.by_type or len(profile.by_type) < rules.limits.event_types:
            profile.by_type[event["type"]] = profile.by_type.get(event["type"], 0) + 1
        else:
            limits.append(f"profile_max_event_types: {rules.limits.event_types} types counted")
        profile.first_seen = time if profile.first_seen is None else min(profile.first_seen, time)
        profile.last_seen = time if profile.last_seen is None else max(profile.last_seen, time)
        if not checked.errors:  # an invalid event is counted but changes no field
            _map(profile, event, context, batch, time, rules, limits)
            if event["type"] == "alias":
                result.aliases += _previous_profiles(event, profile.id)
        profile.version += 1
        result.applied.append(
            AppliedEvent(
                event, session.id, profile.version, checked.errors, checked.properties, limits
            )
        )
    profile.recent = (profile.recent + "".join(applied_digests))[-RECENT_EVENT_IDS * _DIGEST :]
    return result


_VALID = Checked(None, [])


def check_event(
    event: IntakeEvent, context: dict[str, Any], source_id: str, rules: FoldRules
) -> Checked:
    """Reshape and validate one event by the rules of its type (core/validation.py)."""
    for type_rules in rules.event_types:
        if type_rules.applies_to(event["type"], source_id):
            return type_rules.check(event["properties"], context)
    return _VALID


def _previous_profiles(event: IntakeEvent, own: str) -> list[str]:
    previous = json_object(event["properties"], "events[].properties").get("previous_profiles")
    if not isinstance(previous, list):
        return []
    return [p for p in previous if isinstance(p, str) and p and p != own]


def _map(
    profile: Profile,
    event: IntakeEvent,
    context: dict[str, Any],
    batch: IntakeBatch,
    time: int,
    rules: FoldRules,
    limits: list[str],
) -> None:
    source_id, channel = batch["source_id"], batch.get("channel")
    mappings = [m for m in rules.mappings if m.applies_to(event["type"], source_id, channel)]
    roots = {root for m in mappings for root in m.roots}
    if not roots:
        return
    view: dict[str, Any] = {"context": context}  # decode only what the mappings read
    for root in ("properties", "options"):
        if root in roots:
            view[root] = json_object(event[root], f"events[].{root}")
    if "options" in roots and not view["options"] and roots == {"options"}:
        return
    target = {
        "traits": profile.traits,
        "data": profile.data,
        "consents": profile.consents,
        "interests": profile.interests,
    }
    claimed = claimed_sources(mappings)
    for mapping in mappings:
        for rule in mapping.fields:
            value = get_path(view, rule.source)
            if is_missing(value) or value in (None, ""):
                continue
            _update(profile, target, rule.target, value, rule.op, time, rules.limits, limits)
        for path, value in copied_traits(mapping, view, claimed):
            _update(profile, target, path, value, "equals", time, rules.limits, limits)


def _update(
    profile: Profile,
    target: dict[str, Any],
    path: str,
    value: Any,
    op: Operation,
    time: int,
    bounds: ProfileLimits,
    limits: list[str],
) -> None:
    """Last update wins by event time: an older event never overwrites a newer value,
    whatever order the events arrive in. A change past a limit is left out and named in
    ``limits``."""
    if op == "equals" and profile.field_times.get(path, time) > time:
        return
    reached = _limit_reached(target, path, value, op, bounds)
    if reached is not None:
        limits.append(reached)
        return
    if set_path(target, path, value, op):
        profile.field_times[path] = max(time, profile.field_times.get(path, time))


def _limit_reached(
    target: dict[str, Any], path: str, value: Any, op: Operation, bounds: ProfileLimits
) -> str | None:
    """The limit writing ``value`` at ``path`` would pass, or None."""
    if len(path) + len(orjson.dumps(value)) > bounds.value_bytes:
        return f"profile_max_value_bytes: {path[:200]}"
    *parents, leaf = path.split(".")
    node: Any = target
    walked: list[str] = []
    for part in [*parents, leaf]:
        if not isinstance(node, dict):
            return None  # set_path starts a new object here
        if part not in node and len(node) >= bounds.keys:
            return f"profile_max_keys: {'.'.join(walked) or 'profile'}"
        walked.append(part)
        node = node.get(part)
    if op == "append" and isinstance(node, list):
        added = [v for v in (value if isinstance(value, list) else [value]) if v not in node]
        if added and len(node) + len(added) > bounds.keys:
            return f"profile_max_keys: {path}"
    return None
