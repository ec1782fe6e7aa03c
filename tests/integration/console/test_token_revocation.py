"""Tokens end with what they stood for: a password, role or status change and a deletion
revoke every token of the user; a user made again with the same email is a new user."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.console.conftest import PASSWORD, Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

NEW_PASSWORD = "another long password 2"


async def _session(api: Api, email: str, password: str = PASSWORD) -> tuple[dict[str, str], str]:
    response = await api.login(email, password)
    assert response.status_code == 200, response.text
    body = response.json()
    return {"authorization": f"Bearer {body['access_token']}"}, body["refresh_token"]


async def _refresh(api: Api, refresh_token: str) -> httpx.Response:
    return await api.http.post("/user/token/refresh", json={"refresh_token": refresh_token})


async def _user_id(api: Api, admin: dict[str, str], email: str) -> str:
    users = (await api.http.get("/users", headers=admin)).json()
    return str(next(u["id"] for u in users if u["email"] == email))


@pytest.mark.parametrize(
    "change",
    [
        {"password": NEW_PASSWORD},
        {"role": "marketer"},
        {"disabled": True},
    ],
    ids=["password", "role", "disabled"],
)
async def test_a_change_to_the_user_revokes_its_tokens(api: Api, change: dict[str, object]) -> None:
    tenant = f"rev_{next(iter(change))[:4]}"
    await api.tenant(tenant)
    admin = await api.token(f"admin@{tenant}.example")
    email = f"dev@{tenant}.example"
    await api.user(admin, email, "developer")
    access, refresh = await _session(api, email)
    assert (await api.http.get("/user/me", headers=access)).status_code == 200

    user_id = await _user_id(api, admin, email)
    changed = await api.http.patch(f"/users/{user_id}", headers=admin, json=change)
    assert changed.status_code == 200, changed.text

    assert (await api.http.get("/user/me", headers=access)).status_code == 401
    assert (await _refresh(api, refresh)).status_code == 401
    if "disabled" not in change:  # a fresh login works with the (new) credentials
        password = NEW_PASSWORD if "password" in change else PASSWORD
        fresh, _ = await _session(api, email, password)
        assert (await api.http.get("/user/me", headers=fresh)).status_code == 200
    assert (await api.http.get("/user/me", headers=admin)).status_code == 200  # others keep theirs


async def test_an_unchanged_patch_keeps_the_tokens(api: Api) -> None:
    await api.tenant("rev_same")
    admin = await api.token("admin@rev_same.example")
    await api.user(admin, "dev@rev_same.example", "developer")
    access, _ = await _session(api, "dev@rev_same.example")
    user_id = await _user_id(api, admin, "dev@rev_same.example")
    same = await api.http.patch(f"/users/{user_id}", headers=admin, json={"role": "developer"})
    assert same.status_code == 200
    assert (await api.http.get("/user/me", headers=access)).status_code == 200


async def test_a_user_deleted_and_made_again_does_not_get_the_old_tokens(api: Api) -> None:
    await api.tenant("rev_del")
    admin = await api.token("admin@rev_del.example")
    email = "someone@rev_del.example"
    await api.user(admin, email, "marketer")
    access, refresh = await _session(api, email)
    old_id = await _user_id(api, admin, email)

    assert (await api.http.delete(f"/users/{old_id}", headers=admin)).status_code == 204
    again = await api.http.post(
        "/users", headers=admin, json={"email": email, "role": "admin", "password": PASSWORD}
    )
    assert again.status_code == 201
    assert again.json()["id"] != old_id  # ids are random per creation

    assert (await api.http.get("/user/me", headers=access)).status_code == 401
    assert (await api.http.get("/users", headers=access)).status_code == 401
    assert (await _refresh(api, refresh)).status_code == 401
    fresh, _ = await _session(api, email)
    me = (await api.http.get("/user/me", headers=fresh)).json()
    assert me["role"] == "admin" and me["subject"] == again.json()["id"]


async def test_the_same_email_twice_in_a_tenant_is_a_conflict(api: Api) -> None:
    await api.tenant("rev_dup")
    admin = await api.token("admin@rev_dup.example")
    body = {"email": "Twice@rev_dup.example", "role": "marketer", "password": PASSWORD}
    assert (await api.http.post("/users", headers=admin, json=body)).status_code == 201
    body["email"] = "twice@REV_DUP.example"
    assert (await api.http.post("/users", headers=admin, json=body)).status_code == 409
