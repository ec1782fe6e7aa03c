"""Login, refresh, logout, expiry, lockout, API keys; secrets never logged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from headwater.core.access import Role
from tests.integration.console.conftest import PASSWORD, Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_login_gives_tokens_that_open_the_api(api: Api) -> None:
    await api.tenant("login_a")
    response = await api.login("admin@login_a.example")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["tenant"] == "login_a"
    assert body["role"] == "admin" and body["expires_in"] == 15 * 60
    me = await api.http.get("/user/me", headers={"authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "admin@login_a.example"


async def test_wrong_password_and_unknown_user_are_refused_alike(api: Api) -> None:
    await api.tenant("login_b")
    wrong = await api.login("admin@login_b.example", "not the password at all")
    unknown = await api.login("nobody@login_b.example", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["www-authenticate"] == "Bearer"


async def test_lockout_after_repeated_failures_even_with_the_right_password(api: Api) -> None:
    await api.tenant("login_c")
    for _ in range(api.settings.login_max_failures):
        assert (await api.login("admin@login_c.example", "wrong password 123")).status_code == 401
    locked = await api.login("admin@login_c.example")
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    # the lock follows the account name: another account is not locked
    await api.tenant("login_d")
    assert (await api.login("admin@login_d.example")).status_code == 200


async def test_expired_and_forged_tokens_are_refused(api: Api) -> None:
    created = await api.tenant("login_e")
    past = datetime.now(UTC) - timedelta(hours=2)
    expired = api.runtime.tokens.issue(
        subject=str(created["admin_id"]), tenant="login_e", role=Role.ADMIN, kind="access", now=past
    )
    response = await api.http.get("/user/me", headers={"authorization": f"Bearer {expired.token}"})
    assert response.status_code == 401 and response.json()["error"] == "token expired"

    good = (await api.login("admin@login_e.example")).json()["access_token"]
    head, payload, signature = good.split(".")
    forged = f"{head}.{payload}.{signature[::-1]}"
    response = await api.http.get("/user/me", headers={"authorization": f"Bearer {forged}"})
    assert response.status_code == 401


async def test_refresh_rotates_and_logout_revokes(api: Api) -> None:
    await api.tenant("login_f")
    first = (await api.login("admin@login_f.example")).json()
    refreshed = await api.http.post(
        "/user/token/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert refreshed.status_code == 200
    second = refreshed.json()
    # a refresh token is used up by refreshing
    again = await api.http.post(
        "/user/token/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert again.status_code == 401
    # an access token is not a refresh token
    wrong_kind = await api.http.post(
        "/user/token/refresh", json={"refresh_token": second["access_token"]}
    )
    assert wrong_kind.status_code == 401

    headers = {"authorization": f"Bearer {second['access_token']}"}
    assert (await api.http.get("/user/me", headers=headers)).status_code == 200
    out = await api.http.post(
        "/user/logout", headers=headers, json={"refresh_token": second["refresh_token"]}
    )
    assert out.status_code == 204
    assert (await api.http.get("/user/me", headers=headers)).status_code == 401
    after = await api.http.post(
        "/user/token/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert after.status_code == 401


async def test_api_keys_authenticate_until_deleted(api: Api) -> None:
    await api.tenant("login_g")
    admin = await api.token("admin@login_g.example")
    created = await api.http.post(
        "/api-keys", headers=admin, json={"name": "etl", "role": "marketer"}
    )
    assert created.status_code == 201
    key = created.json()["key"]
    machine = {"x-api-key": key}
    me = await api.http.get("/user/me", headers=machine)
    assert me.status_code == 200 and me.json()["role"] == "marketer"
    assert (await api.http.get("/sources", headers=machine)).status_code == 200
    assert (await api.http.post("/sources", headers=machine, json={})).status_code == 403
    listed = await api.http.get("/api-keys", headers=admin)
    assert key not in listed.text  # only a digest is kept
    deleted = await api.http.delete(f"/api-keys/{created.json()['id']}", headers=admin)
    assert deleted.status_code == 204
    assert (await api.http.get("/user/me", headers=machine)).status_code == 401
    tampered = key[:-2] + ("AA" if not key.endswith("AA") else "BB")
    assert (await api.http.get("/user/me", headers={"x-api-key": tampered})).status_code == 401


async def test_no_role_can_grant_more_than_it_has(api: Api) -> None:
    await api.tenant("login_h")
    admin = await api.token("admin@login_h.example")
    maintainer = await api.user(admin, "ops@login_h.example", "maintainer")
    escalate = await api.http.post(
        "/api-keys", headers=maintainer, json={"name": "root", "role": "admin"}
    )
    assert escalate.status_code == 403
    own_level = await api.http.post(
        "/api-keys", headers=maintainer, json={"name": "ops", "role": "maintainer"}
    )
    assert own_level.status_code == 201


async def test_passwords_and_tokens_never_reach_the_logs(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    await api.tenant("login_i")
    caplog.set_level(logging.DEBUG)
    refused = await api.login("admin@login_i.example", "a wrong password 42")
    accepted = await api.login("admin@login_i.example")
    tokens = accepted.json()
    await api.http.get("/user/me", headers={"authorization": f"Bearer {tokens['access_token']}"})
    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert refused.status_code == 401 and accepted.status_code == 200
    assert "login" in logged  # the logins were logged ...
    for secret in (
        PASSWORD,
        "a wrong password 42",
        tokens["access_token"],
        tokens["refresh_token"],
    ):
        assert secret not in logged  # ... without their secrets


async def test_expired_revocations_are_pruned_and_live_ones_kept(api: Api) -> None:
    from headwater.console.login import prune_revocations, revoke
    from headwater.core.accounts import REVOKED_KIND
    from headwater.core.config import config_key

    created = await api.tenant("login_p")
    old = api.runtime.tokens.issue(
        subject=str(created["admin_id"]),
        tenant="login_p",
        role=Role.ADMIN,
        kind="access",
        now=datetime.now(UTC) - timedelta(hours=3),
    )
    live = api.runtime.tokens.issue(
        subject=str(created["admin_id"]), tenant="login_p", role=Role.ADMIN, kind="access"
    )
    await revoke(api.runtime, old.claims)
    await revoke(api.runtime, live.claims)
    old_key = config_key(REVOKED_KIND, "login_p", None, old.claims.token_id)
    live_key = config_key(REVOKED_KIND, "login_p", None, live.claims.token_id)

    assert await prune_revocations(api.runtime, datetime.now(UTC)) >= 1
    await api.runtime.config.wait_gone(old_key)
    assert api.runtime.config.get(live_key) is not None
    refused = await api.http.get("/user/me", headers={"authorization": f"Bearer {live.token}"})
    assert refused.status_code == 401  # still revoked


async def test_an_admin_cannot_demote_or_disable_itself(api: Api) -> None:
    created = await api.tenant("login_s")
    admin = await api.token("admin@login_s.example")
    me = f"/users/{created['admin_id']}"
    assert (await api.http.patch(me, headers=admin, json={"role": "marketer"})).status_code == 409
    assert (await api.http.patch(me, headers=admin, json={"disabled": True})).status_code == 409
    assert (await api.http.delete(me, headers=admin)).status_code == 409
    assert (await api.http.get("/users", headers=admin)).status_code == 200
