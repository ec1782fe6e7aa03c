"""Storage stage: intake batches in, event documents bulk-written to the search engine.

Document id = event id and op ``create``, so a redelivered batch never duplicates an
event. Search outages hold the stage (and so the consumer) until the engine is back;
documents the engine refuses for good are dead-lettered with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from headwater.core.documents import EventDocument, event_documents
from headwater.core.tenancy import events_index
from headwater.errors import HeadwaterError
from headwater.infra.search.port import BulkAction, SearchStore
from headwater.infra.search.provision import provision_events
from headwater.infra.search.writer import BulkWriter
from headwater.schemas import INTAKE_BATCH
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.deadletter import DeadLetters, SourceMessage

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
    ) -> None:
        self._settings = settings
        self._codec = codec
        self._store = store
        self._writer = writer
        self._dead = dead_letters
        self._provisioned: set[tuple[str, str]] = set()

    async def handle(self, messages: Sequence[SourceMessage]) -> StorageResult:
        actions: list[BulkAction] = []
        origin: dict[str, SourceMessage] = {}
        dead = 0
        for message in messages:
            try:
                batch = self._codec.decode(INTAKE_BATCH, message.value)
                documents = event_documents(batch)
            except (HeadwaterError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
                await self._dead.record(message, f"undecodable intake batch: {exc}")
                dead += 1
                continue
            for document in documents:
                await self._provision(document)
                actions.append(self._action(document))
                origin[document.id] = message
        for action, reason in await self._writer.write(actions):
            await self._dead.record(origin[action.id], reason, payload=orjson.dumps(action.doc))
            dead += 1
        return StorageResult(len(messages), len(actions), dead)

    def _action(self, document: EventDocument) -> BulkAction:
        index = events_index(
            self._settings.index_prefix, document.tenant, document.env, document.received_at
        )
        return BulkAction(
            index=index,
            id=document.id,
            doc=document.body,
            op="create",
            size_hint=document.size_hint,
        )

    async def _provision(self, document: EventDocument) -> None:
        key = (document.tenant, document.env)
        if key not in self._provisioned:
            await self._writer.retrying(lambda: provision_events(self._store, self._settings, *key))
            self._provisioned.add(key)
