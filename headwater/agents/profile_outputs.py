"""What the profile stage sends, encoded: processed batches, snapshots, identity claims,
profile operations and forwarded intake. Each call returns something to await for the
broker's acknowledgement."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import orjson

from headwater.core.flows.state import OutboundRequest
from headwater.core.profile_ops import unique_keys
from headwater.core.profiles import BatchResult, FoldRules, Profile, check_event
from headwater.core.tenancy import profile_key
from headwater.schemas import (
    IDENTITY_CLAIM,
    INTAKE_BATCH,
    OUTBOUND_REQUEST,
    PROCESSED_BATCH,
    PROFILE_OP,
    PROFILE_SNAPSHOT,
)
from headwater.streams.codec import AvroCodec
from headwater.streams.sender import Send
from headwater.streams.topics import Topics

__all__ = ["Outputs"]


class Outputs:
    def __init__(self, codec: AvroCodec, topics: Topics, send: Send) -> None:
        self._codec = codec
        self._topics = topics
        self._send = send

    async def processed(
        self, key: bytes, intake: bytes, profile_id: str, result: BatchResult
    ) -> Awaitable[Any]:
        sessions = [
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
        absorbed = [
            {  # only the id, the survivor and a version above the survivor's
                "id": gone,
                "start": result.sessions[survivor].start,
                "last": result.sessions[survivor].last,
                "events": result.sessions[survivor].events,
                "context": b"{}",
                "merged_into": survivor,
            }
            for gone, survivor in result.absorbed.items()
            if survivor in result.sessions
        ]
        record = {
            "intake": intake,
            "profile_id": profile_id,
            "events": [
                {
                    "id": a.event["id"],
                    "session_id": a.session_id,
                    "profile_version": a.profile_version,
                    "errors": a.errors,
                    "properties": a.properties,
                }
                for a in result.applied
            ],
            "sessions": sessions + absorbed,
        }
        value = self._codec.encode(PROCESSED_BATCH, record)
        return await self._send(self._topics.events, key, value)

    async def profile_less(
        self, key: bytes, intake: bytes, batch: dict[str, Any], rules: FoldRules
    ) -> Awaitable[Any]:
        context = orjson.loads(batch["context"]) if batch["context"] != b"{}" else {}
        events = []
        for e in batch["events"]:
            event_context = orjson.loads(e["context"]) if e["context"] != b"{}" else {}
            checked = check_event(e, {**context, **event_context}, batch["source_id"], rules)
            events.append(
                {
                    "id": e["id"],
                    "session_id": batch["session_id"],
                    "profile_version": 0,
                    "errors": checked.errors,
                    "properties": checked.properties,
                }
            )
        record = {"intake": intake, "profile_id": None, "events": events, "sessions": []}
        value = self._codec.encode(PROCESSED_BATCH, record)
        return await self._send(self._topics.events, key, value)

    async def snapshot(self, key: bytes, profile: Profile) -> Awaitable[Any]:
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

    async def claims(
        self, profile: Profile, identifiers: list[str], rules: FoldRules
    ) -> list[Awaitable[Any]]:
        unique = unique_keys(identifiers, rules.merge)
        return [await self._claim(profile, i, unique, release=False) for i in identifiers]

    async def releases(self, profile: Profile) -> list[Awaitable[Any]]:
        """Give up every identifier of a forgotten profile in the identity table."""
        return [await self._claim(profile, i, {}, release=True) for i in profile.identifiers]

    async def _claim(
        self, profile: Profile, identifier: str, unique: dict[str, str], *, release: bool
    ) -> Awaitable[Any]:
        record = {
            "tenant": profile.tenant,
            "env": profile.env,
            "identifier": identifier,
            "profile_id": profile.id,
            "first_seen": profile.first_seen or 0,
            "unique": unique,
            "absorbed": [] if release else profile.absorbed,
            "merges": 0 if release else profile.merges,
            "release": release,
        }
        key = f"{profile.tenant}/{profile.env}:{identifier}".encode()
        value = self._codec.encode(IDENTITY_CLAIM, record)
        return await self._send(self._topics.identity, key, value)

    async def op(self, record: dict[str, Any]) -> Awaitable[Any]:
        key = profile_key(record["tenant"], record["env"], record["profile_id"])
        value = self._codec.encode(PROFILE_OP, record)
        return await self._send(self._topics.profile_ops, key, value)

    async def inject(
        self, cause: dict[str, Any], profile_id: str, events: list[dict[str, Any]]
    ) -> Awaitable[Any]:
        """Events flows injected (and segment changes) back through intake, for the same
        profile, as one ``internal`` batch; their ids are stable under replay."""
        record = {
            **cause,
            "channel": "internal",
            "profile_id": profile_id,
            "profile_assigned": False,
            "profile_less": False,
            "context": b"{}",
            "properties": b"{}",
            "events": [
                {
                    "id": e["id"],
                    "type": e["type"],
                    "time": e["time"],
                    "properties": orjson.dumps(e.get("properties") or {}),
                    "context": b"{}",
                    "options": orjson.dumps({"caused_by": e.get("caused_by") or {}}),
                    "tags": ["injected"],
                }
                for e in events
            ],
        }
        key = profile_key(cause["tenant"], cause["env"], profile_id)
        return await self._send(self._topics.intake, key, self._codec.encode(INTAKE_BATCH, record))

    async def outbound(self, profile: Profile, request: OutboundRequest) -> Awaitable[Any]:
        """A side effect for the destinations agent (never sent by a replay)."""
        record = {
            "tenant": profile.tenant,
            "env": profile.env,
            "profile_id": profile.id,
            "kind": request.kind,
            "target": orjson.dumps(request.target),
            "body": orjson.dumps(request.body),
            "idempotency_key": request.idempotency_key,
            "flow_id": request.flow_id,
            "node_id": request.node_id,
            "event_id": request.event_id,
            "not_before_ms": request.not_before_ms,
        }
        key = profile_key(profile.tenant, profile.env, profile.id)
        value = self._codec.encode(OUTBOUND_REQUEST, record)
        return await self._send(self._topics.outbound, key, value)

    async def forward(self, batch: dict[str, Any], survivor: str) -> Awaitable[Any]:
        """An intake batch for a merged-away profile, re-addressed to its survivor."""
        value = self._codec.encode(INTAKE_BATCH, {**batch, "profile_id": survivor})
        key = profile_key(batch["tenant"], batch["env"], survivor)
        return await self._send(self._topics.intake, key, value)
