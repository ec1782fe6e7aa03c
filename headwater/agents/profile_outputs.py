"""What the profile stage sends, encoded: snapshots, identity claims, profile operations
and forwarded intake (processed batches are gathered per profile: processed.py). Each
call encodes one :class:`Record` (or a list); :meth:`Outputs.send` queues them and
returns what to await for the broker's acknowledgements. A stage encodes everything a
message causes before it sends any of it, so a record too large to send can refuse the
whole message (dead-lettered) instead of a part of it."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any

import orjson

from headwater.agents.processed import Coalesced
from headwater.core import records
from headwater.core.flows.state import OutboundRequest
from headwater.core.imports import IMPORT_KEY
from headwater.core.profile_ops import unique_keys
from headwater.core.profiles import FoldRules, Profile
from headwater.core.records import (
    IdentityClaim,
    IntakeBatch,
    ProfileOp,
    ProfileSnapshot,
    intake_batch,
    intake_event,
    json_object,
)
from headwater.streams.codec import AvroCodec
from headwater.streams.pipeline_records import PipelineRecords, Record
from headwater.streams.sender import Send
from headwater.streams.topics import Topics

__all__ = ["Outputs", "Record"]


class Outputs:
    def __init__(self, codec: AvroCodec, topics: Topics, send: Send) -> None:
        self._records = PipelineRecords(codec, topics)
        self._send = send

    async def send(self, records: Sequence[Record]) -> list[Awaitable[Any]]:
        """Queue ``records`` in order; one awaitable per acknowledgement."""
        return [await self._send(r.topic, r.key, r.value) for r in records]

    def coalesce(self, key: bytes, profile_id: str | None, limit: int) -> Coalesced:
        """Gathers the processed records of ``key`` for one stage batch (processed.py)."""
        return Coalesced(self._records, key, profile_id, limit)

    def snapshot(self, key: bytes, profile: Profile) -> Record:
        record: ProfileSnapshot = {
            "tenant": profile.tenant,
            "env": profile.env,
            "id": profile.id,
            "version": profile.version,
            "document": orjson.dumps(profile.snapshot()),
        }
        return self._records.snapshot(key, record)

    def claims(self, profile: Profile, identifiers: list[str], rules: FoldRules) -> list[Record]:
        unique = unique_keys(identifiers, rules.merge)
        return [self._claim(profile, i, unique, release=False) for i in identifiers]

    def releases(self, profile: Profile) -> list[Record]:
        """Give up every identifier of a forgotten profile in the identity table."""
        return [self._claim(profile, i, {}, release=True) for i in profile.identifiers]

    def _claim(
        self, profile: Profile, identifier: str, unique: dict[str, str], *, release: bool
    ) -> Record:
        record: IdentityClaim = {
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
        return self._records.claim(record)

    def op(self, record: ProfileOp) -> Record:
        return self._records.op(record)

    def inject(self, cause: IntakeBatch, profile_id: str, events: list[dict[str, Any]]) -> Record:
        """Events flows injected (and segment changes) back through intake, for the same
        profile, as one ``internal`` batch; their ids are stable under replay. An
        imported cause's mark goes with them (core/imports.py): with flows off, what a
        segment change triggers runs no flow either."""
        mark = json_object(cause["context"], "context").get(IMPORT_KEY)
        injected = [
            intake_event(
                e["id"],
                e["type"],
                e["time"],
                properties=orjson.dumps(e.get("properties") or {}),
                options=orjson.dumps({"caused_by": e.get("caused_by") or {}}),
                tags=["injected"],
            )
            for e in events
        ]
        record = intake_batch(
            cause["tenant"],
            cause["env"],
            cause["source_id"],
            "internal",
            cause["received_at"],
            injected,
            profile_id=profile_id,
            session_id=cause["session_id"],
            session_assigned=cause["session_assigned"],
            ip=cause["ip"],
            user_agent=cause["user_agent"],
            context=orjson.dumps({IMPORT_KEY: mark}) if mark is not None else b"{}",
        )
        return self._records.intake(record)

    def outbound(self, profile: Profile, request: OutboundRequest) -> Record:
        """A side effect for the destinations agent (never sent by a replay)."""
        record: records.OutboundRequest = {
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
        return self._records.outbound(record)

    def forward(self, batch: IntakeBatch, survivor: str) -> Record:
        """An intake batch for a merged-away profile, re-addressed to its survivor."""
        return self._records.intake({**batch, "profile_id": survivor})
