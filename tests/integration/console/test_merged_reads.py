"""Reads follow merges: a survivor's events and sessions include those of the profiles
merged into it, and merged-away profiles are not listed as live ones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from headwater.core.ports.search import BulkAction
from headwater.core.tenancy import generation_index, profiles_alias, sessions_alias
from tests.integration.console.conftest import Api, event_action

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TENANT, ENV = "merged_reads", "production"


def profile(profile_id: str, events: int, merged_into: str | None = None, **more: Any) -> Any:
    return {
        "id": profile_id,
        "tenant": TENANT,
        "env": ENV,
        "ids": [profile_id],
        "merged_into": merged_into,
        "stats": {"events": events, "visits": 1, "by_type": {"page-view": events}},
        **more,
    }


async def store_merged(api: Api) -> None:
    """As the worker writes them: mr-b (2 events) merged into mr-a (3 of its own)."""
    prefix = api.settings.index_prefix
    now = datetime.now(UTC)
    owners = {"mr-a": 3, "mr-b": 2, "mr-c": 1}
    actions = [
        event_action(api.settings, TENANT, ENV, now, f"ev-{owner}-{n}", "page-view", owner)
        for owner, count in owners.items()
        for n in range(count)
    ]
    actions += [
        BulkAction(
            generation_index(sessions_alias(prefix, TENANT, ENV)),
            f"se-{owner}",
            {"id": f"se-{owner}", "tenant": TENANT, "env": ENV, "profile": {"id": owner}},
            op="index",
        )
        for owner in owners
    ]
    profiles = generation_index(profiles_alias(prefix, TENANT, ENV))
    for doc in (
        profile("mr-a", 5, ids=["mr-a", "mr-b"], merges=1),
        profile("mr-b", 2, merged_into="mr-a"),
        profile("mr-c", 1),
    ):
        actions.append(BulkAction(profiles, doc["id"], doc, op="index"))
    await api.store(TENANT, ENV, actions)


async def test_reads_follow_merges(api: Api) -> None:
    await api.tenant(TENANT)
    await store_merged(api)
    headers = {**(await api.token(f"admin@{TENANT}.example")), "x-context": ENV}

    async def get(path: str, **params: str) -> Any:
        response = await api.http.get(path, headers=headers, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    survivor = await get("/profiles/mr-a")
    events = await get("/events", profile_id="mr-a")
    assert events["total"] == survivor["stats"]["events"] == 5
    assert {e["profile"]["id"] for e in events["items"]} == {"mr-a", "mr-b"}
    assert (await get("/sessions", profile_id="mr-a"))["total"] == 2
    assert (await get("/events", profile_id="mr-b"))["total"] == 2  # its own, as before
    assert (await get("/events", profile_id="mr-c"))["total"] == 1

    listed = await get("/profiles")
    assert [p["id"] for p in listed["items"]] == ["mr-a", "mr-c"]
    assert listed["total"] == 2
    merged = await get("/profiles", merged="true")
    assert [(p["id"], p["merged_into"]) for p in merged["items"]] == [("mr-b", "mr-a")]
    assert (await get("/profiles", merged="any"))["total"] == 3
    bad = await api.http.get("/profiles", headers=headers, params={"merged": "maybe"})
    assert bad.status_code == 422
    stats = await get("/stats")
    assert {k: stats[k] for k in ("events", "profiles", "sessions")} == {
        "events": 6,
        "profiles": 2,
        "sessions": 3,
    }

    # forgetting the survivor forgets what was merged into it, events included
    forgotten = await api.http.delete("/profiles/mr-a", headers=headers)
    assert forgotten.json() == {"events": 5, "sessions": 2, "profiles": 2}
    assert (await get("/events"))["total"] == 1
