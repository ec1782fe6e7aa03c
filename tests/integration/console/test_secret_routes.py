"""``/secrets``: a value is stored once (sealed on the config topic), never shown back to
any role, listed by name only, per tenant and context; flows may name only secrets set
in their context."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from headwater.console import create_app
from headwater.console.runtime import ConsoleRuntime
from headwater.streams.topics import Topics
from tests.integration.console.conftest import Api, cheap_vault
from tests.support.kafka import read_topic

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

VALUE = "crm-token-7f3a9c1e5b2d4f60"
PRODUCTION = {"x-context": "production"}


def _flow(header: str) -> dict[str, object]:
    return {
        "name": "to the CRM",
        "nodes": [
            {"id": "start", "action": "start"},
            {
                "id": "call",
                "action": "http-call",
                "config": {"url": "https://crm.example/hook", "headers": {"Authorization": header}},
            },
        ],
        "edges": [{"from": "start", "to": "call"}],
    }


async def test_a_secret_is_stored_once_and_never_shown_back(api: Api) -> None:
    roles = await api.roles("sec_store")
    answers: list[httpx.Response] = []
    secret = {"value": VALUE}
    put = await api.http.put("/secrets/crm_token", headers=roles["developer"], json=secret)
    answers.append(put)
    assert put.status_code == 200, put.text
    assert put.json()["name"] == "crm_token"
    assert put.json()["created_by"] == put.json()["updated_by"]
    again = await api.http.put("/secrets/crm_token", headers=roles["admin"], json=secret)
    answers.append(again)
    assert again.json()["version"] == 2
    assert again.json()["created_at"] == put.json()["created_at"]
    for role, auth in roles.items():
        listed = await api.http.get("/secrets", headers=auth)
        answers.append(listed)
        assert listed.status_code == 200, (role, listed.text)
        assert [s["name"] for s in listed.json()] == ["crm_token"]
        assert listed.headers["x-context"] == "staging"
    for answer in answers:
        assert VALUE not in answer.text
        assert "sealed" not in answer.text
    # per context: production has none until it is set there
    assert (await api.http.get("/secrets", headers={**roles["admin"], **PRODUCTION})).json() == []

    # sealed on the topic: the raw record holds no plaintext
    topic = Topics(api.settings.topic_prefix).config
    raw = await read_topic(
        api.settings.kafka_servers,
        topic,
        None,
        until=lambda rs: any(r["_key"] == b"secret/sec_store/staging/crm_token" for r in rs),
    )
    mine = [r["_value"] for r in raw if r["_key"] == b"secret/sec_store/staging/crm_token"]
    assert mine and all(VALUE.encode() not in value for value in mine)


async def test_only_writers_set_or_delete_secrets(api: Api) -> None:
    roles = await api.roles("sec_roles")
    for role in ("marketer", "maintainer"):
        put = await api.http.put("/secrets/a", headers=roles[role], json={"value": "x"})
        assert put.status_code == 403, (role, put.text)
    put = await api.http.put("/secrets/a", headers=roles["admin"], json={"value": "x"})
    assert put.is_success
    for role in ("marketer", "maintainer"):
        assert (await api.http.delete("/secrets/a", headers=roles[role])).status_code == 403
    assert (await api.http.delete("/secrets/a", headers=roles["developer"])).status_code == 204
    assert (await api.http.get("/secrets", headers=roles["admin"])).json() == []
    assert (await api.http.delete("/secrets/a", headers=roles["admin"])).status_code == 404


async def test_tenants_see_only_their_own_secrets(api: Api) -> None:
    one = (await api.roles("sec_one"))["admin"]
    two = (await api.roles("sec_two"))["admin"]
    assert (await api.http.put("/secrets/shared", headers=one, json={"value": VALUE})).is_success
    assert (await api.http.get("/secrets", headers=two)).json() == []
    assert (await api.http.delete("/secrets/shared", headers=two)).status_code == 404
    # the other tenant's flow cannot name it either
    flow = await api.http.post("/flows", headers=two, json=_flow("Bearer {{secret.shared}}"))
    assert flow.status_code == 422, flow.text
    assert [s["name"] for s in (await api.http.get("/secrets", headers=one)).json()] == ["shared"]


async def test_bad_names_and_values_are_refused(api: Api) -> None:
    admin = (await api.roles("sec_bad"))["admin"]
    for name in ("1abc", "a b", "a" * 65, "a/b"):
        put = await api.http.put(f"/secrets/{name}", headers=admin, json={"value": "x"})
        assert put.status_code in (404, 422), (name, put.text)
    big = await api.http.put("/secrets/big", headers=admin, json={"value": "é" * 4097})
    assert big.status_code == 422 and "8192 bytes" in big.text
    for body in ({}, {"value": ""}, {"value": "x", "other": 1}):
        assert (await api.http.put("/secrets/x", headers=admin, json=body)).status_code == 422


async def test_flows_name_secrets_of_their_context_which_stay_while_named(api: Api) -> None:
    admin = (await api.roles("sec_flows"))["admin"]
    header = "Bearer {{secret.crm_token}}"
    refused = await api.http.post("/flows", headers=admin, json=_flow(header))
    assert refused.status_code == 422
    assert "secret crm_token is not set in staging" in refused.text
    await api.http.put("/secrets/crm_token", headers=admin, json={"value": VALUE})
    created = await api.http.post("/flows", headers=admin, json=_flow(header))
    assert created.status_code == 201, created.text
    # a reference is no credential: shown as it is (the value never is)
    read = await api.http.get(f"/flows/{created.json()['id']}", headers=admin)
    assert read.json()["nodes"][1]["config"]["headers"]["Authorization"] == header
    # deploying needs the secret in production too
    deploy = await api.http.post(f"/flows/{created.json()['id']}/deploy", headers=admin)
    assert deploy.status_code == 422 and "not set in production" in deploy.text
    # a named secret stays until the flow changes
    gone = await api.http.delete("/secrets/crm_token", headers=admin)
    assert gone.status_code == 409 and created.json()["id"] in gone.text


async def test_without_a_secrets_key_secrets_are_refused_never_stored_in_clear(
    api: Api, tmp_path: Path
) -> None:
    admin = (await api.roles("sec_nokey"))["admin"]
    settings = api.settings.model_copy(update={"secrets_key": None})
    runtime = ConsoleRuntime.create(settings, passwords=cheap_vault())
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=create_app(settings, runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            put = await http.put("/secrets/k", headers=admin, json={"value": VALUE})
    finally:
        await runtime.stop()
    assert put.status_code == 503
    assert "HEADWATER_SECRETS_KEY is not set" in put.text
    assert (await api.http.get("/secrets", headers=admin)).json() == []
