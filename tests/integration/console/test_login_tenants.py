"""An email logs in to the tenants it belongs to: another tenant making a user with the
same email never locks the first one out."""

from __future__ import annotations

import pytest

from tests.integration.console.conftest import PASSWORD, Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

OTHER_PASSWORD = "the other tenant's password"


async def test_another_tenant_reusing_an_admin_email_does_not_break_its_login(api: Api) -> None:
    await api.tenant("lt_a")
    await api.tenant("lt_b")
    b_admin = await api.token("admin@lt_b.example")
    taken = await api.http.post(
        "/users",
        headers=b_admin,
        json={"email": "admin@lt_a.example", "role": "admin", "password": OTHER_PASSWORD},
    )
    assert taken.status_code == 201

    own = await api.login("admin@lt_a.example")  # no tenant named
    assert own.status_code == 200, own.text
    assert own.json()["tenant"] == "lt_a"
    other = await api.login("admin@lt_a.example", OTHER_PASSWORD)
    assert other.status_code == 200 and other.json()["tenant"] == "lt_b"
    wrong = await api.login("admin@lt_a.example", "neither of the two passwords")
    assert wrong.status_code == 401


async def test_one_password_in_several_tenants_asks_which_tenant(api: Api) -> None:
    await api.tenant("lt_c")
    await api.tenant("lt_d")
    for tenant in ("lt_c", "lt_d"):
        admin = await api.token(f"admin@{tenant}.example")
        body = {"email": "both@lt.example", "role": "marketer", "password": PASSWORD}
        created = await api.http.post("/users", headers=admin, json=body)  # same password
        assert created.status_code == 201

    ask = await api.login("both@lt.example")
    assert ask.status_code == 409, ask.text
    assert ask.json()["field"] == "tenant"
    assert ask.json()["tenants"] == ["lt_c", "lt_d"]
    chosen = await api.login("both@lt.example", tenant="lt_d")
    assert chosen.status_code == 200 and chosen.json()["tenant"] == "lt_d"
    refused = await api.login("both@lt.example", "not the password at all", tenant="lt_d")
    assert refused.status_code == 401
