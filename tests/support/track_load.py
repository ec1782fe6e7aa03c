"""Steady ``/track`` load from clients that behave like the SDKs, and the check that what
they were told is stored is stored exactly once.

Each client sends its own event ids and retries a 503 with the same body after the
``Retry-After`` it was given (docs/api.md, *Retries and duplicates*): so every request is
answered 200 in the end, and the events and profile counters the engine holds must be
exactly what the clients sent, however often a request had to be repeated.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from headwater.core.ports.search import SearchStore
from headwater.core.tenancy import events_alias, profiles_alias
from headwater.settings import Settings
from tests.support.polling import eventually
from tests.support.where_lost import where_lost

__all__ = ["TrackLoad", "assert_stored_exactly_once"]


@dataclass
class TrackLoad:
    """``clients`` concurrent trackers over ``profiles`` profiles, ``pace`` seconds apart."""

    url: str
    source: str
    clients: int = 4
    profiles: int = 20
    events_per_request: int = 2
    pace: float = 0.05
    sent: dict[str, list[str]] = field(default_factory=dict)  # profile -> ids answered 200
    statuses: Counter[int] = field(default_factory=Counter)  # every answer, retries too
    retry_after: list[str] = field(default_factory=list)  # the header of every 503
    answered: int = 0  # requests answered 200
    answered_at: list[float] = field(default_factory=list)  # monotonic time of each 200
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._client(n)) for n in range(self.clients)]

    async def stop(self, timeout: float = 60) -> None:
        """Stop sending new requests; wait for those in flight to be answered 200."""
        self._stop.set()
        await asyncio.wait_for(asyncio.gather(*self._tasks), timeout)

    def answered_between(self, start: float, end: float) -> int:
        return sum(start <= at <= end for at in self.answered_at)

    def first_answer_after(self, start: float) -> float:
        return min(at for at in self.answered_at if at > start)

    @property
    def events(self) -> int:
        return sum(len(ids) for ids in self.sent.values())

    async def answered_at_least(self, count: int) -> bool:
        self._raise_failure()
        return self.answered >= count

    async def answered_after(self, start: float) -> bool:
        self._raise_failure()
        return any(at > start for at in self.answered_at)

    async def refused_at_least(self, count: int) -> bool:
        self._raise_failure()
        return self.statuses[503] >= count

    def _raise_failure(self) -> None:
        for task in self._tasks:
            if task.done() and task.exception() is not None:
                raise AssertionError("a load client failed") from task.exception()

    async def _client(self, client: int) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            n = 0
            while not self._stop.is_set():
                profile = f"p{(client + n * self.clients) % self.profiles}"
                ids = [f"c{client}-{n}-{i}" for i in range(self.events_per_request)]
                await self._send_until_stored(http, profile, ids)
                self.sent.setdefault(profile, []).extend(ids)
                self.answered += 1
                n += 1
                await asyncio.sleep(self.pace)

    async def _send_until_stored(
        self, http: httpx.AsyncClient, profile: str, ids: list[str]
    ) -> None:
        body = {
            "source": {"id": self.source},
            "profile": {"id": profile},
            "events": [{"id": i, "type": f"t{k}"} for k, i in enumerate(ids)],
        }
        while True:
            answer = await http.post("/track", json=body)
            self.statuses[answer.status_code] += 1
            if answer.status_code == 200:
                self.answered_at.append(time.monotonic())
                return
            assert answer.status_code == 503, (answer.status_code, answer.text)
            self.retry_after.append(answer.headers.get("retry-after", ""))
            await asyncio.sleep(float(answer.headers.get("retry-after", "1")))


async def assert_stored_exactly_once(
    store: SearchStore, settings: Settings, load: TrackLoad, *, timeout: float = 120
) -> None:
    """Every event answered 200 is in search once (by id), and every profile's
    ``stats.events`` equals the events sent for it."""
    events = events_alias(settings.index_prefix, "default", "production")
    profiles = profiles_alias(settings.index_prefix, "default", "production")
    wanted = {i for ids in load.sent.values() for i in ids}
    assert len(wanted) == load.events  # the ids are unique by construction

    async def all_stored() -> bool:
        await store.refresh(events)
        return await store.count(events) >= len(wanted)

    try:
        await eventually(all_stored, timeout=timeout, every=0.5)
    except AssertionError:
        raise AssertionError(await _missing(store, events, load, settings)) from None
    assert await store.count(events) == len(wanted)  # no event twice
    found = await store.search(events, query={"ids": {"values": sorted(wanted)}}, size=len(wanted))
    assert {h["_id"] for h in found["hits"]["hits"]} == wanted

    expected = {profile: len(ids) for profile, ids in load.sent.items()}
    counted: dict[str, int] = {}

    async def counters_caught_up() -> bool:
        await store.refresh(profiles)
        hits = (await store.search(profiles, size=len(expected) + 10))["hits"]["hits"]
        counted.clear()
        counted.update({h["_source"]["id"]: h["_source"]["stats"]["events"] for h in hits})
        return counted == expected or any(counted.get(p, 0) > n for p, n in expected.items())

    try:
        await eventually(counters_caught_up, timeout=timeout, every=0.5)
    except AssertionError:
        raise AssertionError(f"profile counters {counted}, expected {expected}") from None
    assert counted == expected  # exact: nothing counted twice, nothing missing


async def _missing(store: SearchStore, alias: str, load: TrackLoad, settings: Settings) -> str:
    """Which events are not stored, by profile, and where they were lost: for the
    failure message."""
    missing: dict[str, int] = {}
    lost_ids: set[str] = set()
    for profile, ids in load.sent.items():
        found = await store.search(alias, query={"ids": {"values": ids}}, size=len(ids))
        stored_ids = {h["_id"] for h in found["hits"]["hits"]}
        if lost := set(ids) - stored_ids:
            missing[profile] = len(lost)
            lost_ids |= lost
    stored = await store.count(alias)
    try:
        where = await where_lost(settings, lost_ids)
    except Exception as exc:  # the diagnosis must not hide the loss itself
        where = f"not found out ({exc!r})"
    return f"{stored} of {load.events} events stored; missing by profile: {missing}; where: {where}"
