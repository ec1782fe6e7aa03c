"""``POST /profiles/search``: profiles by a condition, paged, per tenant; a syntax error
says where it is (line, column) for the console's editor."""

from __future__ import annotations

import pytest

from tests.integration.console.conftest import Api
from tests.integration.console.test_isolation import store_data

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_condition_selects_the_tenants_profiles_and_pages(api: Api) -> None:
    roles = await api.roles("psearch_a")
    await api.roles("psearch_b")
    for profile in ("pa-1", "pa-2", "pa-3"):
        await store_data(api, "psearch_a", "production", profile)
    await store_data(api, "psearch_b", "production", "pa-1")  # same id, other tenant
    viewer = roles["marketer"]

    one = await api.http.post(
        "/profiles/search", headers=viewer, json={"condition": 'profile.id = "pa-2"'}
    )
    assert one.status_code == 200, one.text
    assert [p["id"] for p in one.json()["items"]] == ["pa-2"]
    assert one.json()["context"] == "production"

    condition = 'profile.id in ["pa-1", "pa-2", "pa-3"]'
    first = await api.http.post(
        "/profiles/search", headers=viewer, json={"condition": condition, "size": 2}
    )
    body = first.json()
    assert (body["total"], [p["id"] for p in body["items"]]) == (3, ["pa-1", "pa-2"])
    rest = await api.http.post(
        "/profiles/search",
        headers=viewer,
        json={"condition": condition, "size": 2, "after": body["next"]},
    )
    assert [p["id"] for p in rest.json()["items"]] == ["pa-3"]
    assert rest.json()["next"] is None


async def test_syntax_error_says_line_and_column(api: Api) -> None:
    roles = await api.roles("psearch_c")
    wrong = await api.http.post(
        "/profiles/search",
        headers=roles["marketer"],
        json={"condition": "profile.stats.visits >=\n  and"},
    )
    assert wrong.status_code == 422
    body = wrong.json()
    assert body["field"] == "condition"
    assert (body["line"], body["column"]) == (2, 3)
    assert "a number" in body["expected"]
    empty = await api.http.post("/profiles/search", headers=roles["marketer"], json={})
    assert empty.status_code == 422
