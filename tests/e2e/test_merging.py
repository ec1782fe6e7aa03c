"""Identity resolution and merging, end to end: a worker with the profile, identity and
storage agents, events produced as the collector writes them, profiles read back from
the search engine. Each scenario uses its own profile ids; all run against one worker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater.adapters.search import connect_search
from headwater.agents.rescan import run_rescan
from headwater.commands.init import run_init
from headwater.console.tenant_data import TenantData
from headwater.core.identity import MERGE_SETTINGS_KIND
from headwater.core.ports.search import SearchStore
from headwater.core.profile_ops import op
from headwater.core.tenancy import events_alias, merges_alias, profile_key, profiles_alias
from headwater.schemas import PROFILE_OP
from headwater.settings import Settings
from headwater.streams.codec import AvroCodec
from headwater.streams.config_log import ConfigPublisher
from headwater.streams.kafka import AckedProducer
from headwater.streams.partitioning import key_partition
from headwater.streams.topics import Topics
from tests.support.intake import Sender
from tests.support.polling import eventually
from tests.support.processes import start_worker
from tests.support.services import Endpoints, settings_for

pytestmark = pytest.mark.e2e

DAY = datetime(2026, 11, 20, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> dict[str, str]:
    return {"create": (DAY + timedelta(hours=hour, minutes=minute)).isoformat()}


def views(hour: int, count: int) -> list[dict[str, Any]]:
    return [{"type": "page-view", "time": at(hour, n)} for n in range(count)]


def identify(hour: int, **properties: Any) -> dict[str, Any]:
    return {"type": "identify", "time": at(hour, 30), "properties": properties}


class Profiles:
    def __init__(self, store: SearchStore, alias: str) -> None:
        self._store = store
        self._alias = alias

    async def get(self, profile_id: str) -> dict[str, Any] | None:
        await self._store.refresh(self._alias)
        hits = (await self._store.search(self._alias, query={"term": {"id": profile_id}}))["hits"][
            "hits"
        ]
        return hits[0]["_source"] if hits else None

    async def until(
        self, profile_id: str, check: Callable[[dict[str, Any]], bool], timeout: float = 60
    ) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            found = await self.get(profile_id)
            return found if found is not None and check(found) else None

        return await eventually(probe, timeout=timeout, every=0.5)


def merged_into(survivor: str) -> Callable[[dict[str, Any]], bool]:
    return lambda doc: doc.get("merged_into") == survivor


def events_are(count: int) -> Callable[[dict[str, Any]], bool]:
    return lambda doc: doc["stats"]["events"] == count


async def test_merging_scenarios(endpoints: Endpoints, tmp_path: Path) -> None:
    settings = settings_for(endpoints, tmp_path)
    await run_init(settings)
    producer = AckedProducer(settings)
    await producer.start(wait=10)
    worker = start_worker(settings, tmp_path / "worker.log")
    store = await connect_search(settings, node_class=endpoints.es_node_class)
    prefix = settings.index_prefix
    profiles = Profiles(store, profiles_alias(prefix, "default", "production"))
    sender = Sender(settings, producer)
    send = sender.send
    try:
        await _anonymous_then_identified(send, profiles)
        await _forgotten(sender, profiles, producer, settings)
        await _two_devices_one_email(send, profiles, store, prefix)
        await _chain(send, profiles)
        await _concurrent_claims(send, profiles, settings.partitions)
        await _segment_user_ids_and_alias(sender, profiles)
        await _blocked_and_unique_values(
            send, profiles, store, merges_alias(prefix, "default", "production")
        )
        # last: it changes the merge keys of the tenant
        await _rescan_after_a_new_merge_key(settings, send, profiles, producer, endpoints)
    finally:
        worker.stop()
        await producer.stop()
        await store.close()


Send = Callable[[str, list[dict[str, Any]]], Awaitable[None]]


async def _anonymous_then_identified(send: Send, profiles: Profiles) -> None:
    await send("s1-anon", views(9, 3))
    await send("s1-anon", [identify(10, email=" S1@Example.com ", traits={"plan": "pro"})])

    doc = await profiles.until("s1-anon", events_are(4))

    assert doc["data"]["contact"]["email"] == " S1@Example.com "
    assert doc["traits"] == {"plan": "pro"}
    assert doc["merged_into"] is None
    assert [i for i in doc["ids"] if i.startswith("email:")]  # the hashed merge key


async def _forgotten(
    sender: Sender, profiles: Profiles, producer: AckedProducer, settings: Settings
) -> None:
    """Right to be forgotten: the state goes, not only the documents; the email is free."""
    record = op("forget", "default", "production", "s1-anon")
    topic = Topics(settings.topic_prefix).profile_ops
    await producer.send(
        topic,
        AvroCodec.default().encode(PROFILE_OP, record),
        profile_key("default", "production", "s1-anon"),
    )

    async def gone() -> bool:
        return await profiles.get("s1-anon") is None

    await eventually(gone, timeout=60, every=0.5)
    await sender.send("s1-anon", views(15, 1))
    again = await profiles.until("s1-anon", events_are(1))
    assert again["data"] == {} and again["traits"] == {}
    # the email was released: another profile claims it without merging into s1-anon
    await sender.send("s1-new", [identify(16, email="s1@example.com")])
    await profiles.until("s1-new", events_are(1))
    await sender.send("s1-newer", [identify(17, email="s1@example.com")])
    await profiles.until("s1-newer", merged_into("s1-new"))


async def _two_devices_one_email(
    send: Send, profiles: Profiles, store: SearchStore, prefix: str
) -> None:
    events = events_alias(prefix, "default", "production")
    await send(
        "s2-phone", [*views(9, 3), identify(9, email="s2@example.com", traits={"plan": "pro"})]
    )
    await profiles.until("s2-phone", events_are(4))
    await send(
        "s2-laptop",
        [*views(11, 2), identify(11, email="S2@example.com", traits={"plan": "basic", "age": 40})],
    )

    laptop = await profiles.until("s2-laptop", merged_into("s2-phone"))
    phone = await profiles.until("s2-phone", events_are(7))

    assert laptop["merged_into"] == "s2-phone"
    assert phone["stats"]["by_type"] == {"page-view": 5, "identify": 2}
    assert phone["stats"]["visits"] == 2
    assert phone["traits"] == {"plan": "basic", "age": 40}  # last update wins, strings stay strings
    assert "s2-laptop" in phone["ids"]

    # later events of the absorbed profile are counted once, on the survivor
    await send("s2-laptop", views(13, 2))
    phone = await profiles.until("s2-phone", events_are(9))
    assert phone["stats"]["visits"] == 3
    await store.refresh(events)
    stored = await store.search(events, query={"terms": {"profile.id": phone["ids"]}}, size=50)
    assert stored["hits"]["total"]["value"] == 9
    # the private API's reads follow the merge: all 9 under the survivor, the absorbed
    # profile listed only as merged
    data = TenantData(store, prefix, "default")
    found = await data.search(
        "events", "production", {"profile_id": "s2-phone"}, size=50, after=None
    )
    assert found.total == phone["stats"]["events"] == 9
    listed = await data.search("profiles", "production", {}, size=1000, after=None)
    assert "s2-phone" in [p["id"] for p in listed.items]
    assert "s2-laptop" not in [p["id"] for p in listed.items]
    merged = await data.search("profiles", "production", {"merged": "true"}, size=1000, after=None)
    assert ("s2-laptop", "s2-phone") in [(p["id"], p["merged_into"]) for p in merged.items]


async def _chain(send: Send, profiles: Profiles) -> None:
    # first seen: C at 08:00, B at 09:00, A at 10:00; A and B share an email, B and C a phone
    await send("s3-a", [*views(10, 2), identify(10, email="s3@example.com")])
    await profiles.until("s3-a", events_are(3))
    await send("s3-b", [*views(9, 2), identify(9, email="s3@example.com")])
    await profiles.until("s3-a", merged_into("s3-b"))
    await send("s3-c", [*views(8, 2), identify(8, phone="+49 151 2345-678")])
    await profiles.until("s3-c", events_are(3))
    await send("s3-b", [identify(12, phone="0049 1512345678")])

    await profiles.until("s3-b", merged_into("s3-c"))
    await profiles.until("s3-a", merged_into("s3-c"))  # the chain collapsed
    c = await profiles.until("s3-c", events_are(10))
    assert {"s3-a", "s3-b"} <= set(c["ids"])

    await send("s3-a", views(14, 1))  # reaches C through the alias
    await profiles.until("s3-c", events_are(11))


async def _concurrent_claims(send: Send, profiles: Profiles, partitions: int) -> None:
    # two profiles on different partitions (so different workers could own them) claim
    # one email at once
    one = "s4-one"
    two = next(
        f"s4-two-{n}"
        for n in range(100)
        if key_partition(profile_key("default", "production", f"s4-two-{n}"), partitions)
        != key_partition(profile_key("default", "production", one), partitions)
    )
    await asyncio.gather(
        send(one, [*views(7, 2), identify(7, email="s4@example.com")]),
        send(two, [*views(8, 4), identify(8, email="s4@example.com")]),
    )

    absorbed = await profiles.until(two, merged_into(one))
    survivor = await profiles.until(one, events_are(8))
    assert absorbed["merged_into"] == one
    assert survivor["merged_into"] is None


async def _segment_user_ids_and_alias(sender: Sender, profiles: Profiles) -> None:
    # one user on two devices: the userId (customer id) merges them
    [laptop] = await sender.send_segment(
        {
            "type": "track",
            "event": "Viewed",
            "anonymousId": "s8-laptop",
            "userId": "s8-user",
            "timestamp": "2026-11-20T08:00:00Z",
        }
    )
    await profiles.until(laptop, events_are(1))
    [phone] = await sender.send_segment(
        {
            "type": "track",
            "event": "Viewed",
            "anonymousId": "s8-phone",
            "userId": "s8-user",
            "timestamp": "2026-11-20T09:00:00Z",
        },
    )
    await profiles.until(phone, merged_into(laptop))
    await profiles.until(laptop, events_are(2))

    # alias: an anonymous visitor's profile is merged into the signed-up user's
    [visitor] = await sender.send_segment(
        {"type": "page", "anonymousId": "s9-visitor", "timestamp": "2026-11-20T10:00:00Z"},
        {"type": "page", "anonymousId": "s9-visitor", "timestamp": "2026-11-20T10:01:00Z"},
    )
    await profiles.until(visitor, events_are(2))
    [user] = await sender.send_segment(
        {
            "type": "alias",
            "previousId": "s9-visitor",
            "userId": "s9-user",
            "timestamp": "2026-11-20T10:05:00Z",
        }
    )
    await profiles.until(visitor, merged_into(user))
    merged = await profiles.until(user, events_are(3))
    assert merged["data"]["identifier"]["customer_id"] == "s9-user"
    assert merged["stats"]["by_type"] == {"page-view": 2, "alias": 1}


async def _blocked_and_unique_values(
    send: Send, profiles: Profiles, store: SearchStore, merges: str
) -> None:
    await send("s5-x", [*views(9, 1), identify(9, customer_id="undefined", email="null")])
    await send("s5-y", [*views(9, 1), identify(9, customer_id="undefined", email="null")])
    await send("s6-x", [*views(9, 1), identify(9, customer_id="c-1", email="s6@example.com")])
    await profiles.until("s6-x", events_are(2))
    await send("s6-y", [*views(10, 1), identify(10, customer_id="c-2", email="s6@example.com")])

    async def refusal() -> dict[str, Any] | None:
        await store.refresh(merges)
        hits = (await store.search(merges, query={"term": {"other": "s6-y"}}))["hits"]["hits"]
        return hits[0]["_source"] if hits else None

    refused = await eventually(refusal, timeout=60, every=0.5)
    assert refused["outcome"] == "refused"
    assert "customer_id" in refused["reason"]
    assert refused["survivor"] == "s6-x"
    for profile in ("s5-x", "s5-y", "s6-x", "s6-y"):
        doc = await profiles.until(profile, events_are(2))
        assert doc["merged_into"] is None, profile
    s5 = await profiles.get("s5-x")
    assert s5 is not None and not [i for i in s5["ids"] if ":" in i]  # nothing was claimed


async def _rescan_after_a_new_merge_key(
    settings: Settings,
    send: Send,
    profiles: Profiles,
    producer: AckedProducer,
    endpoints: Endpoints,
) -> None:
    await send("s7-x", [*views(9, 1), identify(9, traits={"crm_id": "K-7"})])
    await send("s7-y", [*views(10, 2), identify(10, traits={"crm_id": " k-7"})])
    await profiles.until("s7-y", events_are(3))
    assert (await profiles.until("s7-x", events_are(2)))["merged_into"] is None

    publisher = ConfigPublisher(settings, AvroCodec.default(), producer)
    await publisher.publish(
        kind=MERGE_SETTINGS_KIND,
        tenant="default",
        env="production",
        entity_id="default",
        data={
            "keys": [
                {"name": "email", "path": "data.contact.email", "kind": "email"},
                {"name": "crm", "path": "traits.crm_id", "kind": "text"},
            ]
        },
        version=1,
        updated_by="test",
    )
    reclaimed: list[int] = []

    async def rescanned_and_merged() -> dict[str, Any] | None:
        # the workers follow hw.config within seconds; a rescan before that claims
        # nothing new, so rescan until the merge shows
        report = await run_rescan(
            settings, "default", "production", node_class=endpoints.es_node_class
        )
        reclaimed.append(report.reclaimed)
        found = await profiles.get("s7-y")
        return found if found is not None and found["merged_into"] == "s7-x" else None

    await eventually(rescanned_and_merged, timeout=60, every=2)
    assert reclaimed[0] >= 2
    await profiles.until("s7-x", events_are(5))
