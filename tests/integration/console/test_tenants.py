"""Tenant management (TMS): provisioning in one idempotent step, suspend, delete."""

from __future__ import annotations

import httpx
import pytest

from headwater.core.tenancy import events_alias, profiles_alias, sessions_alias
from tests.integration.conftest import running_collector
from tests.integration.console.conftest import TMS_KEY, Api
from tests.support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TMS = {"x-tms-key": TMS_KEY}


async def test_creating_a_tenant_provisions_everything_once(api: Api) -> None:
    first = await api.tenant("tms_a")
    again = await api.tenant("tms_a")
    write_keys = first.pop("write_keys")
    assert set(write_keys) == {"production", "staging"}  # type: ignore[arg-type]
    assert again.pop("write_keys") == {}  # shown once, by the call that made them
    assert again == first  # nothing new: same admin, same sources, same version
    assert first["version"] == 1 and first["status"] == "active"
    assert set(first["sources"]) == {"production", "staging"}

    for env in ("production", "staging"):
        for alias in (events_alias, profiles_alias, sessions_alias):
            name = alias(api.settings.index_prefix, "tms_a", env)
            assert await api.runtime.search.get_alias(name), name

    admin = await api.token("admin@tms_a.example")
    for env, source_id in first["sources"].items():  # type: ignore[union-attr]
        listed = await api.http.get("/sources", headers={**admin, "x-context": env})
        assert [s["id"] for s in listed.json()] == [source_id]
    users = (await api.http.get("/users", headers=admin)).json()
    assert [(u["email"], u["role"]) for u in users] == [("admin@tms_a.example", "admin")]
    assert "password" not in str(users)


async def test_tenant_routes_need_the_right_tms_key(api: Api) -> None:
    assert (await api.http.get("/tenants")).status_code == 401
    wrong = await api.http.get("/tenants", headers={"x-tms-key": "x" * 40})
    assert wrong.status_code == 401
    listed = await api.http.get("/tenants", headers=TMS)
    assert listed.status_code == 200
    assert "default" in {t["id"] for t in listed.json()}  # made by init


async def test_weak_admin_password_and_bad_tenant_id_are_refused(api: Api) -> None:
    weak = await api.http.post(
        "/tenants",
        headers=TMS,
        json={"id": "tms_w", "name": "W", "admin_email": "a@w.example", "admin_password": "short"},
    )
    assert weak.status_code == 422 and weak.json()["field"] == "password"
    bad_id = await api.http.post(
        "/tenants",
        headers=TMS,
        json={
            "id": "Not-Valid",
            "name": "W",
            "admin_email": "a@w.example",
            "admin_password": "long enough password",
        },
    )
    assert bad_id.status_code == 422
    listed = await api.http.get("/tenants", headers=TMS)
    assert not {"tms_w", "Not-Valid"} & {t["id"] for t in listed.json()}


async def test_a_suspended_tenants_collector_traffic_is_refused(api: Api) -> None:
    created = await api.tenant("tms_s")
    source_id = created["sources"]["production"]  # type: ignore[index]
    event = {"source": {"id": source_id}, "events": [{"type": "page-view"}]}
    async with running_collector(api.settings) as url, httpx.AsyncClient(base_url=url) as http:

        async def status() -> int:
            return (await http.post("/track", json=event)).status_code

        assert await eventually(lambda: _is(status, 200), timeout=10)
        await api.http.post("/tenants/tms_s/suspend", headers=TMS)
        await eventually(lambda: _is(status, 403), timeout=5)
        refused = await http.post("/track", json=event)
        assert "suspended" in refused.json()["error"]
        await api.http.post("/tenants/tms_s/resume", headers=TMS)
        await eventually(lambda: _is(status, 200), timeout=5)


async def test_deleting_a_tenant_removes_its_users_keys_and_configuration(api: Api) -> None:
    await api.tenant("tms_d")
    admin = await api.token("admin@tms_d.example")
    key = await api.http.post("/api-keys", headers=admin, json={"name": "k", "role": "admin"})
    assert key.status_code == 201
    prefix = api.runtime.settings.index_prefix
    assert await api.runtime.search.list_indices(f"{prefix}-tms_d-production-*")
    assert (await api.http.delete("/tenants/tms_d", headers=TMS)).status_code == 204
    for env in ("production", "staging"):  # its data went too
        assert await api.runtime.search.list_indices(f"{prefix}-tms_d-{env}-*") == []
    assert (await api.http.get("/tenants/tms_d", headers=TMS)).status_code == 404
    assert not [e for e in api.runtime.config.entries() if e.tenant == "tms_d"]
    assert (await api.login("admin@tms_d.example")).status_code == 401
    assert (await api.http.get("/user/me", headers=admin)).status_code == 401
    assert (
        await api.http.get("/user/me", headers={"x-api-key": key.json()["key"]})
    ).status_code == 401


async def _is(probe, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await probe() == expected


async def test_creating_an_existing_tenant_never_adds_an_admin(api: Api) -> None:
    first = await api.tenant("tms_r")
    other = await api.tenant("tms_r", email="intruder@elsewhere.example")
    assert other["admin_id"] is None and other["version"] == first["version"]
    assert (await api.login("intruder@elsewhere.example")).status_code == 401
    admin = await api.token("admin@tms_r.example")
    users = (await api.http.get("/users", headers=admin)).json()
    assert [u["email"] for u in users] == ["admin@tms_r.example"]
