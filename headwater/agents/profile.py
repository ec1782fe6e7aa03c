"""Profile stage: the single writer of each profile.

Intake batches come in keyed ``tenant:profile``; each profile's state lives in a
key-value table (a Faust table in the worker). For a set of messages the stage folds
every batch into its profile (core/profiles.py), sends the processed batches and one
snapshot per changed profile, waits until the broker has acknowledged all of them, and
only then writes the new states to the table. A crash at any point therefore either
loses nothing (outputs written, state ahead: the redelivery is recognised by its offset) or
redoes the work from older state (same deterministic outputs, absorbed downstream by
event-id and version checks).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from headwater.core.mapping import BUILTIN_MAPPINGS, MAPPING_KIND, mapping_from_config
from headwater.core.profiles import BatchResult, FoldRules, Profile, apply_batch
from headwater.errors import HeadwaterError
from headwater.schemas import INTAKE_BATCH, PROCESSED_BATCH, PROFILE_SNAPSHOT
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigLog
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.topics import Topics

__all__ = ["ConfiguredRules", "ProfileResult", "ProfileStage", "RulesFor", "Send"]

log = logging.getLogger(__name__)

# Sends one record and returns something to await for the broker's acknowledgement.
Send = Callable[[str, bytes, bytes], Awaitable[Awaitable[Any]]]
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
        self._send = send
        self._dead = dead_letters
        default = FoldRules(session_gap_ms=settings.session_gap_minutes * 60_000)
        self._rules_for = rules_for or (lambda tenant, env: default)
        self._topics = Topics(settings.topic_prefix)

    async def handle(self, messages: Sequence[SourceMessage]) -> ProfileResult:
        grouped: dict[bytes, list[tuple[SourceMessage, dict[str, Any]]]] = {}
        dead = 0
        for message in messages:
            try:
                batch = self._codec.decode(INTAKE_BATCH, message.value)
            except HeadwaterError as exc:
                await self._dead.record(message, f"undecodable intake batch: {exc}")
                dead += 1
                continue
            key = message.key or f"{batch['tenant']}:~{batch['events'][0]['id']}".encode()
            grouped.setdefault(key, []).append((message, batch))

        deliveries: list[Awaitable[Any]] = []
        states: dict[bytes, Profile] = {}
        applied = duplicates = replayed = late = 0
        for key, items in grouped.items():
            profile_id = items[0][1]["profile_id"]
            if profile_id is None:  # profile-less: passed on as they came
                for message, batch in items:
                    deliveries.append(await self._emit_profile_less(key, message, batch))
                    applied += len(batch["events"])
                continue
            try:
                profile = self._load(key, items[0][1])
                rules = self._rules_for(profile.tenant, profile.env)
                changed = False
                for message, batch in items:
                    origin = f"{message.topic}/{message.partition}"
                    result = apply_batch(profile, batch, origin, message.offset or 0, rules)
                    replayed += result.replayed
                    duplicates += result.duplicates
                    if result.replayed:
                        continue
                    if result.late:
                        late += 1
                        log.warning(
                            "%s offset %s arrived after later offsets of profile %r; applied",
                            origin,
                            message.offset,
                            key,
                        )
                    applied += len(result.applied)
                    changed = True
                    deliveries.append(await self._emit_processed(key, message, profile.id, result))
            except Exception as exc:  # one bad profile or batch must not stop the partition
                log.exception("profile %r: fold failed; dead-lettering its batches", key)
                for message, _ in items:
                    await self._dead.record(message, f"profile fold failed: {exc!r}")
                    dead += 1
                continue
            if changed:
                deliveries.append(await self._emit_snapshot(key, profile))
                states[key] = profile
        await asyncio.gather(*deliveries)  # every output acknowledged ...
        for key, profile in states.items():  # ... before the state that reflects it
            self._table[key] = profile.dumps()
        return ProfileResult(len(messages), applied, duplicates, replayed, dead, late)

    def _load(self, key: bytes, batch: dict[str, Any]) -> Profile:
        raw = self._table.get(key)
        if raw is not None:
            return Profile.loads(raw)
        return Profile.new(batch["tenant"], batch["env"], batch["profile_id"])

    async def _emit_processed(
        self, key: bytes, message: SourceMessage, profile_id: str, result: BatchResult
    ) -> Awaitable[Any]:
        record = {
            "intake": message.value,
            "profile_id": profile_id,
            "events": [
                {
                    "id": a.event["id"],
                    "session_id": a.session_id,
                    "profile_version": a.profile_version,
                }
                for a in result.applied
            ],
            "sessions": [
                {
                    "id": s.id,
                    "start": s.start,
                    "last": s.last,
                    "events": s.events,
                    "context": orjson.dumps(s.context),
                    "merged_into": None,
                }
                for s in result.sessions.values()
            ]
            + [
                {  # absorbed: only the id, the survivor and a version above the survivor's
                    "id": gone,
                    "start": result.sessions[survivor].start,
                    "last": result.sessions[survivor].last,
                    "events": result.sessions[survivor].events,
                    "context": b"{}",
                    "merged_into": survivor,
                }
                for gone, survivor in result.absorbed.items()
                if survivor in result.sessions
            ],
        }
        value = self._codec.encode(PROCESSED_BATCH, record)
        return await self._send(self._topics.events, key, value)

    async def _emit_profile_less(
        self, key: bytes, message: SourceMessage, batch: dict[str, Any]
    ) -> Awaitable[Any]:
        record = {
            "intake": message.value,
            "profile_id": None,
            "events": [
                {"id": e["id"], "session_id": batch["session_id"], "profile_version": 0}
                for e in batch["events"]
            ],
            "sessions": [],
        }
        value = self._codec.encode(PROCESSED_BATCH, record)
        return await self._send(self._topics.events, key, value)

    async def _emit_snapshot(self, key: bytes, profile: Profile) -> Awaitable[Any]:
        value = self._codec.encode(
            PROFILE_SNAPSHOT,
            {
                "tenant": profile.tenant,
                "env": profile.env,
                "id": profile.id,
                "version": profile.version,
                "document": orjson.dumps(profile.snapshot()),
            },
        )
        return await self._send(self._topics.profiles, key, value)


class ConfiguredRules:
    """Fold rules per tenant and environment: built-in mappings plus the event mappings
    configured on the config topic, rebuilt when the configuration changes."""

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
        rules = FoldRules(session_gap_ms=self._gap, mappings=tuple(mappings))
        self._cache[(tenant, env)] = (self._config.generation, rules)
        return rules
