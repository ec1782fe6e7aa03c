"""Secrets are shown once and masked on every later read, for every role: write keys
(shown when issued or rotated) and credentials in flow configurations."""

from __future__ import annotations

import httpx
import pytest

from headwater.core.automation import FLOW_KIND
from headwater.core.config import config_key
from tests.integration.conftest import running_collector
from tests.integration.console.conftest import Api
from tests.support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

PRODUCTION = {"x-context": "production"}
BEARER = "Bearer sk_live_0123456789abcdef"
BASIC_PASSWORD = "s3cr3t-pa55"
FLOW = {
    "name": "to the CRM",
    "nodes": [
        {"id": "start", "action": "start"},
        {
            "id": "call",
            "action": "http-call",
            "config": {
                "url": f"https://crm-user:{BASIC_PASSWORD}@crm.example/hook?api_key=k-999&x=1",
                "headers": {
                    "Authorization": BEARER,
                    "X-Api-Key": "key-42-abcdef",
                    "X-Client-Token": "tok-7-abcdef",
                    "Content-Type": "application/json",
                },
            },
        },
    ],
    "edges": [{"from": "start", "to": "call"}],
}
SECRETS = (BEARER, "sk_live", BASIC_PASSWORD, "k-999", "key-42-abcdef", "tok-7-abcdef")


async def test_write_keys_are_shown_once_and_masked_on_every_read(api: Api) -> None:
    roles = await api.roles("sec_wk")
    admin = roles["admin"]
    created = await api.http.post("/sources", headers=admin, json={"name": "web"})
    assert created.status_code == 201
    [issued] = created.json()["write_keys"]
    assert issued["key"].startswith("hw_")  # shown once, in the answer that issued it
    path = f"/sources/{created.json()['id']}"

    for role, headers in roles.items():
        for url in ("/sources", path):
            read = await api.http.get(url, headers=headers)
            assert read.status_code == 200, (role, url, read.text)
            assert issued["key"] not in read.text, (role, url)
        [shown] = (await api.http.get(path, headers=headers)).json()["write_keys"]
        assert shown["key"] is None and shown["id"] == issued["id"]
        assert shown["hint"] == issued["key"][:6] + "..."
    replaced = await api.http.put(path, headers=admin, json={"name": "web 2"})
    assert issued["key"] not in replaced.text

    deployed = (await api.http.post(f"{path}/deploy", headers=admin)).json()
    [production_key] = deployed["write_keys"]  # a first deploy issues production a key
    assert production_key["key"].startswith("hw_")
    redeployed = await api.http.post(f"{path}/deploy", headers=admin)
    assert production_key["key"] not in redeployed.text  # ... shown once
    again = await api.http.get(path, headers={**roles["marketer"], **PRODUCTION})
    assert production_key["key"] not in again.text


async def test_rotating_a_write_key_shows_the_new_one_once_and_retires_the_old(
    api: Api,
) -> None:
    created = await api.tenant("sec_rot")
    admin = {**(await api.token("admin@sec_rot.example")), **PRODUCTION}
    old_key = created["write_keys"]["production"]  # type: ignore[index]
    source_id = created["sources"]["production"]  # type: ignore[index]
    path = f"/sources/{source_id}"
    [listed] = (await api.http.get(path, headers=admin)).json()["write_keys"]

    async with running_collector(api.settings) as url, httpx.AsyncClient(base_url=url) as http:

        async def status(key: str) -> int:
            call = {"writeKey": key, "event": "Order Completed", "anonymousId": "a1"}
            return (await http.post("/v1/track", json=call)).status_code

        await eventually(lambda: _is(status(old_key), 200), timeout=10)
        rotated = await api.http.post(
            f"{path}/write-keys/rotate", headers=admin, json={"id": listed["id"]}
        )
        assert rotated.status_code == 201, rotated.text
        new_key = rotated.json()["key"]
        assert new_key.startswith("hw_") and new_key != old_key
        await eventually(lambda: _is(status(old_key), 401), timeout=5)
        await eventually(lambda: _is(status(new_key), 200), timeout=5)

    keys = (await api.http.get(path, headers=admin)).json()["write_keys"]
    assert [(k["revoked"], k["key"]) for k in keys] == [(True, None), (False, None)]
    unknown = await api.http.post(
        f"{path}/write-keys/rotate", headers=admin, json={"id": "wk_000000000000"}
    )
    assert unknown.status_code == 404


async def test_credentials_in_flows_are_masked_for_every_role_and_kept_on_save(
    api: Api,
) -> None:
    roles = await api.roles("sec_fl")
    admin = roles["admin"]
    created = await api.http.post("/flows", headers=admin, json=FLOW)
    assert created.status_code == 201, created.text
    path = f"/flows/{created.json()['id']}"
    for role, headers in roles.items():
        for url in ("/flows", path):
            read = await api.http.get(url, headers=headers)
            assert read.status_code == 200, (role, url, read.text)
            assert not [s for s in SECRETS if s in read.text], (role, url)
    config = (await api.http.get(path, headers=roles["marketer"])).json()["nodes"][1]["config"]
    assert config["url"].startswith("https://crm-user:") and "@crm.example/hook" in config["url"]
    assert "x=1" in config["url"]  # only the credential parts are masked
    assert config["headers"]["Content-Type"] == "application/json"

    # the editor saves back what it read: the stored credentials are kept
    read = (await api.http.get(path, headers=admin)).json()
    body = {"name": "renamed", "nodes": read["nodes"], "edges": read["edges"]}
    saved = await api.http.put(path, headers=admin, json=body)
    assert saved.status_code == 200, saved.text
    stored = api.runtime.config.get(
        config_key(FLOW_KIND, "sec_fl", "staging", created.json()["id"])
    )
    assert stored is not None and stored.data["name"] == "renamed"
    stored_config = stored.data["nodes"][1]["config"]
    assert stored_config == FLOW["nodes"][1]["config"]  # type: ignore[index]


async def _is(probe, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await probe == expected
