"""Nobody can compute a tenant's source ids or write keys: they are random when made,
and provisioning stays idempotent by finding the default sources it made before."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.console.conftest import TMS_KEY, Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TMS = {"x-tms-key": TMS_KEY}


def _random_uuid(value: object) -> bool:
    return uuid.UUID(str(value)).version == 4


async def test_default_source_ids_are_random_and_new_for_a_new_tenant(api: Api) -> None:
    first = await api.tenant("sid_a")
    sources = dict(first["sources"])  # type: ignore[call-overload]
    assert all(_random_uuid(s) for s in sources.values()), sources
    assert sources["production"] != sources["staging"]
    assert (await api.tenant("sid_a"))["sources"] == sources  # idempotent: found, not made

    assert (await api.http.delete("/tenants/sid_a", headers=TMS)).status_code == 204
    again = await api.tenant("sid_a")  # the same tenant id made again: nothing repeats
    assert not set(dict(again["sources"]).values()) & set(sources.values())  # type: ignore[call-overload]


async def test_a_replaced_default_source_is_still_found_as_the_default(api: Api) -> None:
    created = await api.tenant("sid_b")
    source_id = created["sources"]["staging"]  # type: ignore[index]
    admin = await api.token("admin@sid_b.example")
    changed = await api.http.put(f"/sources/{source_id}", headers=admin, json={"name": "Web"})
    assert changed.status_code == 200
    assert changed.json()["default"] is True
    assert (await api.tenant("sid_b"))["sources"] == created["sources"]
    listed = (await api.http.get("/sources", headers=admin)).json()
    assert [s["id"] for s in listed] == [source_id]  # no second default source
