"""Which context an answer is about: data routes default to production (where collectors
send events), configuration routes to staging; every answer says which one it used, and
an empty answer or a 404 says when the other context has what was asked for."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.conftest import running_collector
from tests.integration.console.conftest import Api
from tests.integration.console.test_isolation import store_data

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

STAGING = {"x-context": "staging"}


async def test_data_routes_show_production_by_default_and_say_so(api: Api) -> None:
    await api.tenant("ctx_a")
    await store_data(api, "ctx_a", "production", "p-live")
    admin = await api.token("admin@ctx_a.example")

    for family in ("events", "profiles", "sessions"):
        page = await api.http.get(f"/{family}", headers=admin)
        assert page.status_code == 200, page.text
        assert page.headers["x-context"] == "production"
        assert page.json()["total"] == 1 and page.json()["context"] == "production"
        assert page.json()["hint"] is None
    one = await api.http.get("/profiles/p-live", headers=admin)
    assert one.status_code == 200 and one.headers["x-context"] == "production"


async def test_an_empty_page_tells_what_the_other_context_has(api: Api) -> None:
    await api.tenant("ctx_b")
    await store_data(api, "ctx_b", "staging", "p-1")
    await store_data(api, "ctx_b", "staging", "p-2")
    admin = await api.token("admin@ctx_b.example")

    page = (await api.http.get("/profiles", headers=admin)).json()
    assert page["total"] == 0 and page["context"] == "production"
    assert page["hint"] == "none in production; staging has 2 profiles: send x-context: staging"
    filtered = await api.http.get("/events", headers=admin, params={"profile_id": "p-1"})
    assert filtered.json()["hint"] == (
        "none in production; staging has 1 event that match: send x-context: staging"
    )
    nowhere = await api.http.get("/events", headers=admin, params={"profile_id": "p-9"})
    assert nowhere.json()["total"] == 0 and nowhere.json()["hint"] is None

    there = (await api.http.get("/profiles", headers={**admin, **STAGING})).json()
    assert there["total"] == 2 and there["context"] == "staging" and there["hint"] is None


async def test_a_404_says_the_other_context_has_it(api: Api) -> None:
    await api.tenant("ctx_c")
    await store_data(api, "ctx_c", "staging", "p-staged")
    admin = await api.token("admin@ctx_c.example")

    missing = await api.http.get("/profiles/p-staged", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["error"] == (
        "no profile p-staged in production; staging has it: send x-context: staging"
    )
    unknown = await api.http.get("/profiles/p-nobody", headers=admin)
    assert unknown.json()["error"] == "no profile p-nobody in production"
    forget = await api.http.delete("/profiles/p-staged", headers=admin)
    assert forget.status_code == 404 and "staging has it" in forget.json()["error"]


async def test_configuration_is_staged_by_default_and_says_how_to_go_live(api: Api) -> None:
    tenant = await api.tenant("ctx_d")
    production_source = tenant["sources"]["production"]  # type: ignore[index]
    admin = await api.token("admin@ctx_d.example")

    created = await api.http.post("/sources", headers=admin, json={"name": "web"})
    assert created.status_code == 201
    assert created.headers["x-context"] == "staging" and created.json()["env"] == "staging"
    source_id = created.json()["id"]
    assert created.headers["x-context-hint"] == (
        "saved in staging, which only staging collectors and workers use; "
        f"POST /sources/{source_id}/deploy puts it in production"
    )
    listed = await api.http.get("/sources", headers=admin)
    assert listed.headers["x-context"] == "staging"

    elsewhere = await api.http.get(f"/sources/{production_source}", headers=admin)
    assert elsewhere.status_code == 404
    assert elsewhere.json()["error"] == (
        f"no source {production_source} in staging; production has it: send x-context: production"
    )

    segments = await api.http.post(
        "/segments",
        headers={**admin, "x-context": "production"},
        json={"name": "all", "condition": "profile.stats.events > 0"},
    )
    assert segments.status_code == 201, segments.text
    assert "x-context-hint" not in segments.headers  # production is live already
    empty = await api.http.get("/segments", headers=admin)
    assert empty.json() == []
    assert empty.headers["x-context-hint"] == (
        "none in staging; production has 1 segment(s): send x-context: production"
    )


async def test_a_staged_source_is_refused_in_production_with_the_reason(api: Api) -> None:
    await api.tenant("ctx_e")
    admin = await api.token("admin@ctx_e.example")
    source = (
        await api.http.post(
            "/sources", headers=admin, json={"name": "web", "channels": ["track", "segment"]}
        )
    ).json()
    key = source["write_keys"][0]["key"]
    event = {"source": {"id": source["id"]}, "events": [{"type": "page-view"}]}
    message = {"userId": "u-1", "event": "E"}
    staging = api.settings.model_copy(update={"env": "staging"})

    async with running_collector(api.settings) as url, httpx.AsyncClient(base_url=url) as http:
        by_id = await http.post("/track", json=event)
        by_key = await http.post("/v1/track", json=message, auth=(key, ""))
    for refused, whose in ((by_id, "source"), (by_key, "source's key")):
        assert refused.status_code == 401
        assert refused.json()["error"].endswith(
            f"it is a staging {whose}; this collector serves production: deploy the source "
            "(POST /sources/{id}/deploy) or send to a staging collector"
        ), refused.text

    async with running_collector(staging) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.post("/track", json=event)).status_code == 200
        assert (await http.post("/v1/track", json=message, auth=(key, ""))).status_code == 200
