"""Identity stage: the single owner of ``identifier -> profile``. It is what the design's
service list calls APM (Automatic Profile Merging): it decides which profiles merge.

Claims come in keyed ``tenant/env:identifier`` (hw.identity), so every claim on one
identifier is decided by one writer, in log order, with :func:`core.identity.decide`.
A merge becomes an ``absorb`` operation for the profile merged away (hw.profile.ops);
the profile agents do the rest (core/profile_ops.py). Every merge and every refusal is
recorded on hw.merges with its reason (indexed for search). As in the profile stage,
outputs are acknowledged before the table is written, and each output is idempotent
downstream (an ``absorb`` of a profile merged already is a no-op; merge records have
deterministic ids).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from headwater.core.identity import Claim, Decision, MergeSettings, Owner, decide
from headwater.core.profile_ops import op
from headwater.core.records import IdentityClaim, MergeRecord
from headwater.core.tenancy import identity_key
from headwater.errors import HeadwaterError
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.pipeline_records import PipelineRecords
from headwater.streams.sender import Send
from headwater.streams.table_state import StateTable
from headwater.streams.topics import Topics

__all__ = ["IdentityResult", "IdentityStage"]

log = logging.getLogger(__name__)

SettingsFor = Callable[[str, str], MergeSettings]


@dataclass(frozen=True, slots=True)
class IdentityResult:
    claims: int
    merges: int
    refused: int
    dead_lettered: int


def _owner(raw: bytes) -> Owner:
    data = orjson.loads(raw)
    return Owner(data["profile_id"], data["first_seen"], data["unique"], data["merges"])


def _dump(owner: Owner) -> bytes:
    return orjson.dumps(
        {
            "profile_id": owner.profile_id,
            "first_seen": owner.first_seen,
            "unique": owner.unique,
            "merges": owner.merges,
        }
    )


class IdentityStage:
    def __init__(
        self,
        settings: Settings,
        codec: AvroCodec,
        table: StateTable,
        send: Send,
        dead_letters: DeadLetters,
        settings_for: SettingsFor | None = None,
    ) -> None:
        self._records = PipelineRecords(codec, Topics(settings.topic_prefix))
        self._table = table
        self._send = send
        self._dead = dead_letters
        self._settings_for = settings_for or (lambda tenant, env: MergeSettings())

    async def handle(self, messages: Sequence[SourceMessage]) -> IdentityResult:
        pending: list[Awaitable[Any]] = []
        owners: dict[bytes, Owner | None] = {}  # decided here (None: released), written last
        merges = refused = dead = 0
        for message in messages:
            try:
                claim = self._records.read_claim(message.value)
            except HeadwaterError as exc:
                await self._dead.record(message, f"undecodable identity claim: {exc}")
                dead += 1
                continue
            key = message.key or identity_key(claim["tenant"], claim["env"], claim["identifier"])
            raw = self._table.get(key)
            current = owners.get(key) if key in owners else (None if raw is None else _owner(raw))
            if claim["release"]:  # a forgotten profile gives its identifier up
                if current is not None and current.profile_id == claim["profile_id"]:
                    owners[key] = None
                continue
            decision = decide(
                current, _claim(claim), self._settings_for(claim["tenant"], claim["env"])
            )
            if decision.action == "merge":
                merges += 1
                pending += await self._merge(claim, decision)
            elif decision.action == "refuse":
                refused += 1
                log.info("merge refused on %s: %s", claim["identifier"], decision.reason)
                pending.append(await self._record(claim, decision, claim["profile_id"]))
            owners[key] = decision.owner
        await asyncio.gather(*pending)
        await self._table.write(
            {key: None if owner is None else _dump(owner) for key, owner in owners.items()}
        )
        return IdentityResult(len(messages), merges, refused, dead)

    async def _merge(self, claim: IdentityClaim, decision: Decision) -> list[Awaitable[Any]]:
        assert decision.absorbed is not None
        tenant, env = claim["tenant"], claim["env"]
        survivor, absorbed = decision.owner.profile_id, decision.absorbed.profile_id
        log.info("merging %s into %s on %s", absorbed, survivor, claim["identifier"])
        absorb = self._records.op(op("absorb", tenant, env, absorbed, survivor))
        sent = await self._send(*absorb)
        return [sent, await self._record(claim, decision, absorbed)]

    async def _record(self, claim: IdentityClaim, decision: Decision, other: str) -> Awaitable[Any]:
        outcome = "merged" if decision.action == "merge" else "refused"
        survivor = decision.owner.profile_id
        seed = f"{claim['identifier']}|{outcome}|{survivor}|{other}"
        record: MergeRecord = {
            "id": hashlib.sha256(seed.encode()).hexdigest()[:32],
            "tenant": claim["tenant"],
            "env": claim["env"],
            "time": int(time.time() * 1000),
            "outcome": outcome,
            "reason": decision.reason or f"both profiles claim {claim['identifier'].split(':')[0]}",
            "identifier": claim["identifier"],
            "survivor": survivor,
            "other": other,
        }
        return await self._send(*self._records.merge(record))


def _claim(record: IdentityClaim) -> Claim:
    owner = Owner(record["profile_id"], record["first_seen"], record["unique"], record["merges"])
    return Claim(record["identifier"], owner, frozenset(record["absorbed"]))
