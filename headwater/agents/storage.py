"""Storage stage: processed batches and profile snapshots in, documents bulk-written to
the search engine.

Events: document id = event id and op ``create``, so a redelivered batch never
duplicates an event. Profiles and sessions: op ``index`` with external versioning
(profile version, session event count), so an older snapshot never overwrites a newer
one, whatever order they arrive in; within a batch only each document's latest
version is sent (``latest_versions``). Search outages hold the stage (and so the consumer)
until the engine is back; documents the engine refuses for good are dead-lettered with
the reason.

In the worker the stage writes behind (:meth:`StorageStage.write_behind`): the next
batch's documents are built while the last batch's bulk requests are in flight, at most
``storage_writes_in_flight`` batches' writes at once (more wait: an outage still holds
the stage, and memory stays bounded). A batch counts toward the consumer's commit only
once its own writes are acknowledged or dead-lettered, in order (agents/worker.py
``BatchCounts``); a crash with writes in flight reads them again.

Documents go to the index generation ``generation_for(tenant, env)`` names. The live
stage creates indices behind their aliases; a replay's stage (``live=False``) fills the
next generation unseen and moves the aliases when it is done.

A forgotten profile's deletion (its last snapshot) also deletes its events from before
it (by profile version), so none applied just before the state was forgotten outlives
``DELETE /profiles/{id}``; it runs once every earlier write, also those of earlier
batches still in flight, is acknowledged. A replay's stage, which sees the documents in
log order, also deletes the profile's sessions written so far, as the API did in the
live generation (live, sessions are left to the API: the two topics are not ordered
with each other, and a new profile with the same id may have stored a session already).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from headwater.adapters.search.provision import provision_events
from headwater.adapters.search.writer import BulkWriter
from headwater.core.documents import (
    Applied,
    EventDocument,
    Resolution,
    event_documents,
    session_document,
)
from headwater.core.ports.search import BulkAction, SearchStore, latest_versions
from headwater.core.records import IntakeBatch, SessionUpdate, processed_messages
from headwater.core.tenancy import (
    events_alias,
    events_index,
    generation_index,
    merges_alias,
    profiles_alias,
    sessions_alias,
)
from headwater.core.times import as_datetime
from headwater.errors import HeadwaterError
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage
from headwater.streams.pipeline_records import PipelineRecords
from headwater.streams.topics import Topics

__all__ = ["StorageResult", "StorageStage"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StorageResult:
    messages: int
    documents: int
    dead_lettered: int


class StorageStage:
    def __init__(
        self,
        settings: Settings,
        codec: AvroCodec,
        store: SearchStore,
        writer: BulkWriter,
        dead_letters: DeadLetters,
        generation_for: Callable[[str, str], int] = lambda tenant, env: 1,
        *,
        live: bool = True,
    ) -> None:
        self._settings = settings
        self._generation_for = generation_for
        self._live = live
        self._store = store
        self._writer = writer
        self._dead = dead_letters
        self._provisioned: set[tuple[str, str, int]] = set()
        self._in_flight: set[asyncio.Task[StorageResult]] = set()  # batches being written
        self._topics = Topics(settings.topic_prefix)
        self._records = PipelineRecords(codec, self._topics)

    async def handle(self, messages: Sequence[SourceMessage]) -> StorageResult:
        """Store one batch; returns once all its documents are acknowledged or
        dead-lettered."""
        return await (await self.write_behind(messages))

    async def write_behind(self, messages: Sequence[SourceMessage]) -> asyncio.Task[StorageResult]:
        """Build one batch's documents and start writing them; the task returned ends
        once they are all acknowledged or dead-lettered. Waits first while
        ``storage_writes_in_flight`` batches' writes are on their way."""
        actions: list[BulkAction] = []
        origin: dict[int, SourceMessage] = {}  # id() of each action -> its message
        dead = written = 0
        for message in messages:
            try:
                if message.topic == self._topics.profiles:
                    found = [await self._profile_action(message.value)]
                elif message.topic == self._topics.merges:
                    found = [await self._merge_action(message.value)]
                else:
                    found = await self._event_actions(message.value)
            except (HeadwaterError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
                await self._dead.record(message, f"undecodable message: {exc}")
                dead += 1
                continue
            for action in found:
                actions.append(action)
                origin[id(action)] = message
            forgotten = found[0] if message.topic == self._topics.profiles else None
            if forgotten is not None and forgotten.op == "delete":
                await self._drain()
                stored, refused = await self._write(actions, origin)
                written, dead = written + stored, dead + refused
                actions, origin = [], {}
                await self._erase(forgotten)
        while len(self._writing()) >= self._settings.storage_writes_in_flight:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
        writing = asyncio.create_task(self._finish(len(messages), written, dead, actions, origin))
        self._in_flight.add(writing)
        return writing

    async def _finish(
        self,
        messages: int,
        written: int,
        dead: int,
        actions: list[BulkAction],
        origin: dict[int, SourceMessage],
    ) -> StorageResult:
        stored, refused = await self._write(actions, origin)
        return StorageResult(messages, written + stored, dead + refused)

    def _writing(self) -> set[asyncio.Task[StorageResult]]:
        """The batches whose writes are still in flight."""
        self._in_flight = {task for task in self._in_flight if not task.done()}
        return self._in_flight

    async def close(self) -> None:
        """Wait for the writes in flight; interrupted, cancel them (their batches have
        not counted: they are read again)."""
        try:
            await self._drain()
        finally:
            for task in self._writing():
                task.cancel()

    async def _drain(self) -> None:
        """Until every write in flight is acknowledged (or dead-lettered)."""
        if self._writing():
            await asyncio.wait(self._in_flight)

    async def _write(
        self, actions: list[BulkAction], origin: dict[int, SourceMessage]
    ) -> tuple[int, int]:
        """Write the latest version of each document in ``actions``; dead-letter what
        the engine refuses. Returns (documents sent, refused)."""
        latest = latest_versions(actions)
        refused = await self._writer.write(latest)
        for action, reason in refused:
            await self._dead.record(
                origin[id(action)], reason, payload=orjson.dumps(action.doc), kind="search_rejected"
            )
        return len(latest), len(refused)

    async def _erase(self, profile: BulkAction) -> None:
        """A forgotten profile's events from before the deletion go, wherever they were
        when ``DELETE /profiles/{id}`` deleted documents (an event applied just before
        the state was forgotten is stored after that); those of the new profile with that
        id have higher versions and stay. A replay's stage, which sees every document in
        log order, also deletes the sessions written so far, as the API did live."""
        document = profile.doc
        tenant, env = document["tenant"], document["env"]
        prefix = self._settings.index_prefix
        events = events_alias(prefix, tenant, env)
        owned = [{"term": {"tenant": tenant}}, {"term": {"profile.id": profile.id}}]
        erased: list[tuple[str, dict[str, Any]]] = []
        before = {"range": {"profile.version": {"lt": profile.version}}}
        if self._live:
            erased.append((events, {"bool": {"filter": [*owned, before]}}))
        else:
            generation = self._generation_for(tenant, env)
            sessions = generation_index(sessions_alias(prefix, tenant, env), generation)
            erased.append((f"{events}-{generation:06d}-*", {"bool": {"filter": [*owned, before]}}))
            erased.append((sessions, {"bool": {"filter": owned}}))
        for index, query in erased:

            async def erase(index: str = index, query: dict[str, Any] = query) -> None:
                await self._store.refresh(index)
                await self._store.delete_by_query(index, query)

            await self._writer.retrying(erase)

    async def _event_actions(self, value: bytes) -> list[BulkAction]:
        """A processed batch's documents: the events of each intake message it carries,
        then each session it names once (core/records.py ``processed_messages`` reads
        every version, also the one message of a record from before version 5)."""
        processed = self._records.read_processed(value)
        profile_id = processed["profile_id"]
        actions: list[BulkAction] = []
        batch: IntakeBatch | None = None
        generation = 0
        for message in processed_messages(processed):
            batch = self._records.read_intake(message["intake"])
            generation = await self._provision(batch["tenant"], batch["env"])
            resolution = Resolution(
                profile_id,
                {
                    e["id"]: Applied(
                        e["session_id"],
                        e["profile_version"],
                        tuple(e["errors"]),
                        e["properties"],
                        tuple(e["limits"]),
                    )
                    for e in message["events"]
                },
            )
            actions += [self._action(d, generation) for d in event_documents(batch, resolution)]
        if batch is not None:  # the sessions of a profile: one tenant and environment
            actions += self._session_actions(batch, generation, profile_id, processed["sessions"])
        return actions

    def _session_actions(
        self,
        batch: IntakeBatch,
        generation: int,
        profile_id: str | None,
        sessions: list[SessionUpdate],
    ) -> list[BulkAction]:
        alias = sessions_alias(self._settings.index_prefix, batch["tenant"], batch["env"])
        index = generation_index(alias, generation)
        joins = self._joins(alias)
        actions = []
        for session in sessions:
            if session["merged_into"] is not None:  # joined to another session by a late event
                actions.append(
                    BulkAction(
                        index,
                        session["id"],
                        {},
                        op="delete",
                        version=session["events"],
                        alias=joins,
                    )
                )
                continue
            document = session_document(batch["tenant"], batch["env"], profile_id, session)
            actions.append(
                BulkAction(
                    index,
                    session["id"],
                    document,
                    op="index",
                    version=session["events"],
                    alias=joins,
                )
            )
        return actions

    async def _profile_action(self, value: bytes) -> BulkAction:
        snapshot = self._records.read_snapshot(value)
        generation = await self._provision(snapshot["tenant"], snapshot["env"])
        alias = profiles_alias(self._settings.index_prefix, snapshot["tenant"], snapshot["env"])
        document = orjson.loads(snapshot["document"])
        return BulkAction(
            generation_index(alias, generation),
            snapshot["id"],
            document,
            op="delete" if document.get("erased") else "index",
            version=snapshot["version"],
            size_hint=len(snapshot["document"]) + 64,
            alias=self._joins(alias),
        )

    async def _merge_action(self, value: bytes) -> BulkAction:
        record = self._records.read_merge(value)
        await self._provision(record["tenant"], record["env"])
        alias = merges_alias(self._settings.index_prefix, record["tenant"], record["env"])
        document = {**record, "time": as_datetime(record["time"]).isoformat()}
        return BulkAction(generation_index(alias), record["id"], document, alias=self._joins(alias))

    def _action(self, document: EventDocument, generation: int) -> BulkAction:
        prefix = self._settings.index_prefix
        tenant, env = document.tenant, document.env
        return BulkAction(
            index=events_index(prefix, tenant, env, document.received_at, generation),
            id=document.id,
            doc=document.body,
            op="create",
            size_hint=document.size_hint,
            alias=self._joins(events_alias(prefix, tenant, env)),
        )

    def _joins(self, alias: str) -> str | None:
        return alias if self._live else None

    async def _provision(self, tenant: str, env: str) -> int:
        """Templates and current indices of the generation in force; returns it."""
        generation = self._generation_for(tenant, env)
        key = (tenant, env, generation)
        if key not in self._provisioned:
            await self._writer.retrying(
                lambda: provision_events(
                    self._store,
                    self._settings,
                    tenant,
                    env,
                    generation=generation,
                    aliased=self._live,
                )
            )
            self._provisioned.add(key)
        return generation
