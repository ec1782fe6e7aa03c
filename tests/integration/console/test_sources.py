"""Event sources per context: versioned CRUD, deploy to production and rollback, and a
running production collector that follows the changes without a restart."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.conftest import running_collector
from tests.integration.console.conftest import Api
from tests.support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

STAGING = {"x-context": "staging"}
PRODUCTION = {"x-context": "production"}


async def test_sources_are_versioned_per_context_with_who_and_when(api: Api) -> None:
    created_tenant = await api.tenant("src_a")
    admin = await api.token("admin@src_a.example")
    created = await api.http.post("/sources", headers=admin, json={"name": "web"})
    assert created.status_code == 201
    source = created.json()
    assert source["env"] == "staging" and source["version"] == 1  # staging is the default
    assert source["updated_by"] == f"token:{created_tenant['admin_id']}"
    path = f"/sources/{source['id']}"

    masked = {**source, "write_keys": [{**k, "key": None} for k in source["write_keys"]]}
    assert (await api.http.get(path, headers={**admin, **STAGING})).json() == masked
    assert (await api.http.get(path, headers={**admin, **PRODUCTION})).status_code == 404

    changed = await api.http.put(path, headers=admin, json={"name": "web 2", "version": 1})
    assert changed.status_code == 200
    assert changed.json()["version"] == 2 and changed.json()["name"] == "web 2"
    stale = await api.http.put(path, headers=admin, json={"name": "lost", "version": 1})
    assert stale.status_code == 409
    assert (await api.http.get(path, headers=admin)).json()["name"] == "web 2"

    bad_context = await api.http.get("/sources", headers={**admin, "x-context": "qa"})
    assert bad_context.status_code == 422

    assert (await api.http.delete(path, headers=admin)).status_code == 204
    assert (await api.http.get(path, headers=admin)).status_code == 404
    listed = (await api.http.get("/sources", headers=admin)).json()
    assert source["id"] not in {s["id"] for s in listed}


async def test_deploy_copies_staging_to_production_and_rollback_restores(api: Api) -> None:
    await api.tenant("src_b")
    admin = await api.token("admin@src_b.example")
    developer = await api.user(admin, "dev@src_b.example", "developer")
    source = (
        await api.http.post(
            "/sources", headers=developer, json={"name": "v1", "channels": ["track"]}
        )
    ).json()
    path = f"/sources/{source['id']}"
    event = {"source": {"id": source["id"]}, "events": [{"type": "page-view"}]}

    async with running_collector(api.settings) as url, httpx.AsyncClient(base_url=url) as http:

        async def track_status() -> int:
            return (await http.post("/track", json=event)).status_code

        assert await track_status() == 401  # staging only: the production collector has none

        first = await api.http.post(f"{path}/deploy", headers=developer)
        assert first.status_code == 200
        assert first.json()["env"] == "production" and first.json()["name"] == "v1"
        await eventually(lambda: _is(track_status, 200), timeout=5)

        await api.http.put(path, headers=developer, json={"name": "v2", "enabled": False})
        live = await api.http.get(path, headers={**developer, **PRODUCTION})
        assert live.json()["name"] == "v1"  # editing staging leaves production alone

        second = await api.http.post(f"{path}/deploy", headers=developer)
        assert second.json()["name"] == "v2" and second.json()["version"] == 2
        await eventually(lambda: _is(track_status, 403), timeout=5)

        back = await api.http.post(f"{path}/rollback", headers=developer)
        assert back.status_code == 200
        assert back.json()["name"] == "v1" and back.json()["enabled"] is True
        assert back.json()["version"] == 3  # a rollback is a new version too
        await eventually(lambda: _is(track_status, 200), timeout=5)

    staging = await api.http.get(path, headers={**developer, **STAGING})
    assert staging.json()["name"] == "v2"  # rollback is about production only


async def test_rollback_without_an_earlier_version_is_404(api: Api) -> None:
    await api.tenant("src_c")
    admin = await api.token("admin@src_c.example")
    source = (await api.http.post("/sources", headers=admin, json={"name": "x"})).json()
    assert (
        await api.http.post(f"/sources/{source['id']}/rollback", headers=admin)
    ).status_code == 404


async def _is(probe, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await probe() == expected


async def test_write_keys_are_issued_by_the_server_and_stay_with_their_environment(
    api: Api,
) -> None:
    await api.tenant("src_k")
    admin = await api.token("admin@src_k.example")
    chosen = await api.http.post(
        "/sources", headers=admin, json={"name": "web", "write_keys": [{"key": "hw_mine0000"}]}
    )
    assert chosen.status_code == 422  # a caller never picks a key
    source = (await api.http.post("/sources", headers=admin, json={"name": "web"})).json()
    path = f"/sources/{source['id']}"
    [staging_key] = source["write_keys"]
    assert staging_key["key"].startswith("hw_") and not staging_key["revoked"]

    replaced = (await api.http.put(path, headers=admin, json={"name": "web 2"})).json()
    assert _ids(replaced) == [staging_key["id"]]  # a replace keeps the keys

    first = (await api.http.post(f"{path}/deploy", headers=admin)).json()
    [production_key] = first["write_keys"]
    assert production_key["key"] != staging_key["key"]  # production gets its own
    await api.http.put(path, headers=admin, json={"name": "web 3"})
    second = (await api.http.post(f"{path}/deploy", headers=admin)).json()
    assert second["name"] == "web 3" and _ids(second) == [production_key["id"]]
    back = (await api.http.post(f"{path}/rollback", headers=admin)).json()
    assert back["name"] == "web 2" and _ids(back) == [production_key["id"]]

    added = await api.http.post(f"{path}/write-keys", headers=admin, json={"name": "ios"})
    assert added.status_code == 201
    revoked = await api.http.post(
        f"{path}/write-keys/revoke", headers=admin, json={"key": staging_key["key"]}
    )
    assert revoked.status_code == 200
    keys = {k["id"]: k["revoked"] for k in revoked.json()["write_keys"]}
    assert keys == {staging_key["id"]: True, added.json()["id"]: False}
    unknown = await api.http.post(
        f"{path}/write-keys/revoke", headers=admin, json={"key": "hw_" + "0" * 32}
    )
    assert unknown.status_code == 404


def _ids(source: dict[str, list[dict[str, str]]]) -> list[str]:
    return [k["id"] for k in source["write_keys"]]


async def test_a_revoked_write_key_is_refused_by_a_running_collector(api: Api) -> None:
    created = await api.tenant("src_r")
    admin = {**(await api.token("admin@src_r.example")), **PRODUCTION}
    source_id = created["sources"]["production"]  # type: ignore[index]
    key = created["write_keys"]["production"]  # type: ignore[index]  # shown once
    call = {"writeKey": key, "event": "Order Completed", "anonymousId": "a1"}
    async with running_collector(api.settings) as url, httpx.AsyncClient(base_url=url) as http:

        async def status() -> int:
            return (await http.post("/v1/track", json=call)).status_code

        await eventually(lambda: _is(status, 200), timeout=10)
        await api.http.post(
            f"/sources/{source_id}/write-keys/revoke", headers=admin, json={"key": key}
        )
        await eventually(lambda: _is(status, 401), timeout=5)
