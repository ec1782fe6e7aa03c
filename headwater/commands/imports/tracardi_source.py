"""Reading a Tracardi installation from its search engine: profiles, then events (in
time order) with the sessions they belong to. Pages are read with ``search_after`` on a
sort that ends with the document id, so the cursor of the last record settled resumes
the read exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import SecretStr

from headwater.adapters.search import connect_search
from headwater.commands.imports.files import Item
from headwater.core.ports.search import SearchStore
from headwater.core.tracardi import TRACARDI_INDICES, event_batch, profile_batch
from headwater.settings import Settings

__all__ = ["TracardiReader", "TracardiSpec"]

_PAGE = 500
_PHASES = ("profile", "event")
_SORTS: dict[str, list[Any]] = {
    "profile": [{"id": "asc"}],
    "event": [{"metadata.time.insert": {"order": "asc", "missing": "_first"}}, {"id": "asc"}],
}


@dataclass(frozen=True, slots=True)
class TracardiSpec:
    """A Tracardi installation: its search engine, the prefix of its index names (what
    comes before ``tracardi-profile``), and the time range of events to read (by
    ``metadata.time.insert``; profiles are read whole)."""

    url: str
    index_prefix: str = ""
    since: datetime | None = None
    until: datetime | None = None
    username: str | None = None
    password: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "tracardi": self.url,
            "index_prefix": self.index_prefix,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }

    def index(self, entity: str) -> str:
        return f"{self.index_prefix}{TRACARDI_INDICES[entity]}*"


class TracardiReader:
    def __init__(self, spec: TracardiSpec, settings: Settings) -> None:
        self.spec = spec
        self.kind = "tracardi"
        self._settings = settings.model_copy(
            update={
                "search": spec.url,
                "search_engine": "auto",
                "search_api_key": None,
                "search_username": spec.username,
                "search_password": SecretStr(spec.password) if spec.password else None,
            }
        )

    async def identity(self) -> str:
        spec = self.spec
        return f"{spec.url}|{spec.index_prefix}|{spec.since}|{spec.until}"

    async def items(self, cursor: dict[str, Any] | None) -> AsyncIterator[Item]:
        store = await connect_search(self._settings)
        try:
            start = _PHASES.index(cursor["phase"]) if cursor else 0
            for phase in _PHASES[start:]:
                after = cursor["after"] if cursor and cursor["phase"] == phase else None
                async for item in self._phase(store, phase, after):
                    yield item
        finally:
            await store.close()

    def _query(self, phase: str) -> dict[str, Any]:
        if phase == "profile" or not (self.spec.since or self.spec.until):
            return {"match_all": {}}
        bounds: dict[str, str] = {}
        if self.spec.since:
            bounds["gte"] = self.spec.since.isoformat()
        if self.spec.until:
            bounds["lt"] = self.spec.until.isoformat()
        return {"range": {"metadata.time.insert": bounds}}

    async def _phase(
        self, store: SearchStore, phase: str, after: list[Any] | None
    ) -> AsyncIterator[Item]:
        index = self.spec.index(phase)
        while True:
            page = await store.search(
                index,
                query=self._query(phase),
                size=_PAGE,
                sort=_SORTS[phase],
                search_after=after,
            )
            hits = page.get("hits", {}).get("hits", [])
            if not hits:
                return
            sessions = await self._sessions(store, hits) if phase == "event" else {}
            for hit in hits:
                after = hit["sort"]
                document = hit.get("_source") or {}
                document.setdefault("id", hit.get("_id"))
                yield _item(phase, document, after, sessions)

    async def _sessions(
        self, store: SearchStore, hits: list[dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """The Tracardi sessions of a page of events, by id."""
        ids = sorted(
            {
                session["id"]
                for hit in hits
                if isinstance(session := (hit.get("_source") or {}).get("session"), dict)
                and isinstance(session.get("id"), str)
            }
        )
        if not ids:
            return {}
        found = await store.search(
            self.spec.index("session"), query={"terms": {"id": ids}}, size=len(ids)
        )
        sessions = {}
        for hit in found.get("hits", {}).get("hits", []):
            document = hit.get("_source") or {}
            sessions[str(document.get("id", hit.get("_id")))] = document
        return sessions


def _item(
    phase: str, document: dict[str, Any], after: list[Any], sessions: dict[str, dict[str, Any]]
) -> Item:
    cursor = {"phase": phase, "after": after}
    where = f"{phase} {document.get('id')}"
    text = orjson.dumps(document, default=str).decode()[:2048]
    if phase == "profile":
        return Item(where, cursor, lambda target: [profile_batch(document, target)], text)
    session_ref = document.get("session")
    session_id = session_ref.get("id") if isinstance(session_ref, dict) else None
    session = sessions.get(session_id) if isinstance(session_id, str) else None
    return Item(where, cursor, lambda target: [event_batch(document, target, session)], text)
