"""A segment's members are the same whichever way they are asked for: ``GET
/segments/{id}/members``, ``GET /profiles?segment=<id>`` and the predicate the agents
run, on the same profile documents; a condition the search cannot run is refused when
the segment is saved, not when its members are asked for."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.core.conditions import compile_predicate
from headwater.core.ports.search import BulkAction
from headwater.core.tenancy import generation_index, profiles_alias
from tests.integration.console.conftest import Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TENANT = "seg_agree"
NOW_ISH = 1_764_400_000_000

CONDITIONS = [
    "profile.traits.email exists",
    "profile.stats.by_type.page-view > 3",
    "profile.stats.by_type.page-view <= 2 or profile.traits.email = null",
    'profile.stats.visits >= 2 and profile.traits.plan = "pro"',
    'profile.traits.plan not in ["free"]',
    'profile.traits.name starts with "An"',
    '"vip" in profile.segments',
]


def _profile(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"p{n}",
        "ids": [f"p{n}"],
        "tenant": TENANT,
        "env": "staging",
        "traits": {},
        "stats": {"events": 0, "visits": 0, "by_type": {}},
        "segments": [],
        **fields,
    }


def _profiles(stale: str) -> list[dict[str, Any]]:
    """Varied profiles; ``stale`` is listed in ``segments`` of profiles it does not fit
    (membership recorded before the data changed), which the search must not trust."""
    return [
        _profile(0, traits={"email": "a@x.example", "plan": "pro", "name": "Ann"}),
        _profile(1, traits={"plan": "free"}, stats={"visits": 3, "by_type": {"page-view": 12}}),
        _profile(
            2,
            traits={"email": "b@x.example", "plan": "pro"},
            stats={"visits": 2, "by_type": {"page-view": 3, "sign-up": 1}},
            segments=["vip", stale],
        ),
        _profile(3, stats={"visits": 9, "by_type": {"page-view": 4}}, segments=["vip"]),
        _profile(4, traits={"name": "Bob", "email": "c@x.example"}, segments=[stale]),
        _profile(5, stats={"visits": 1, "by_type": {"page-view": 1}}),
        # merged away: in no segment, whatever its data
        _profile(6, traits={"email": "d@x.example"}, merged_into="p0", segments=["vip"]),
    ]


async def _ids(api: Api, admin: dict[str, str], path: str) -> tuple[int, list[str]]:
    response = await api.http.get(path, headers=admin)
    assert response.status_code == 200, f"{path}: {response.text}"
    body = response.json()
    if "profiles" in body:
        return body["total"], sorted(body["profiles"])
    return body["total"], sorted(str(item["id"]) for item in body["items"])


async def test_members_profiles_by_segment_and_predicate_agree(api: Api) -> None:
    await api.tenant(TENANT)
    # segments and documents in staging: every call names the context
    admin = {**await api.token(f"admin@{TENANT}.example"), "x-context": "staging"}
    created = []
    for condition in CONDITIONS:
        saved = await api.http.post(
            "/segments", headers=admin, json={"name": condition, "condition": condition}
        )
        assert saved.status_code == 201, f"{condition}: {saved.text}"
        created.append((str(saved.json()["id"]), condition))
    documents = _profiles(stale=created[0][0])
    index = generation_index(profiles_alias(api.settings.index_prefix, TENANT, "staging"))
    outcome = await api.runtime.search.bulk(
        [BulkAction(index, d["id"], d, op="index") for d in documents]
    )
    assert outcome.written == len(documents), outcome.rejected
    await api.runtime.search.refresh(index)

    for segment_id, condition in created:
        predicate = compile_predicate(condition)
        expected = sorted(
            str(d["id"])
            for d in documents
            if "merged_into" not in d and predicate({"profile": d}, NOW_ISH)
        )
        members = await _ids(api, admin, f"/segments/{segment_id}/members?size=1000")
        listed = await _ids(api, admin, f"/profiles?segment={segment_id}&size=1000")
        assert members == (len(expected), expected), condition
        assert listed == members, condition


async def test_a_label_flows_add_is_found_by_the_profiles_that_list_it(api: Api) -> None:
    await api.tenant(TENANT)
    # segments and documents in staging: every call names the context
    admin = {**await api.token(f"admin@{TENANT}.example"), "x-context": "staging"}
    index = generation_index(profiles_alias(api.settings.index_prefix, TENANT, "staging"))
    labelled = _profile(20, segments=["from-a-flow"])
    await api.runtime.search.bulk([BulkAction(index, labelled["id"], labelled, op="index")])
    await api.runtime.search.refresh(index)

    assert await _ids(api, admin, "/profiles?segment=from-a-flow") == (1, ["p20"])


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ("profile.traits.age > 30", "indexed as text"),
        ('event.type = "page-view"', "only profile.* paths"),
        ("profile.nothing.here = 1", "no such field"),
        ("profile.stats.by_type.page-view > 5000", "at most"),
    ],
)
async def test_a_segment_the_search_cannot_list_is_refused_on_save(
    api: Api, condition: str, reason: str
) -> None:
    await api.tenant(TENANT)
    # segments and documents in staging: every call names the context
    admin = {**await api.token(f"admin@{TENANT}.example"), "x-context": "staging"}

    refused = await api.http.post("/segments", headers=admin, json={"condition": condition})

    assert refused.status_code == 422, refused.text
    assert reason in refused.json()["error"] and refused.json()["field"] == "condition"
    kept = await api.http.post(
        "/segments", headers=admin, json={"condition": "profile.stats.visits > 1"}
    )
    replaced = await api.http.put(
        f"/segments/{kept.json()['id']}", headers=admin, json={"condition": condition}
    )
    assert replaced.status_code == 422, replaced.text
