"""``/bridges``: bridges are configuration like the rest (roles, contexts, versions,
deploy); a connection's password is sealed, never shown back, kept on a replace to the
same server only, and opened by the bridge process that connects with it."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio

from headwater.streams.topics import Topics
from tests.integration.console.conftest import Api
from tests.support.bridges import running_bridges
from tests.support.channels import AmqpServer, ImapServer
from tests.support.kafka import read_topic
from tests.support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

PASSWORD = "mqtt-pass-5e1f0c9a7b3d"
TENANT = "bridges"  # one tenant: its roles are made once for the module


Roles = dict[str, dict[str, str]]


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def roles(api: Api) -> Roles:
    return await api.roles(TENANT)


def _bridge(**connection: Any) -> dict[str, Any]:
    return {
        "name": "sensors",
        "channel": "mqtt",
        "connection": {"url": "mqtt://broker.example:1883", "username": "hw", **connection},
        "subscription": {"topics": ["sensors/+/reading"]},
        "mapping": {"event_type": "topic:-1", "profile_id": "json:owner"},
    }


async def test_a_bridge_password_is_sealed_never_shown_and_kept_for_its_server(
    api: Api, roles: Roles
) -> None:
    created = await api.http.post(
        "/bridges", headers=roles["developer"], json=_bridge(password=PASSWORD)
    )
    assert created.status_code == 201, created.text
    bridge = created.json()
    assert bridge["connection"] == {
        "url": "mqtt://broker.example:1883", "username": "hw", "client_id": None,
        "password_set": True,
    }  # fmt: skip
    path = f"/bridges/{bridge['id']}"
    answers = [created]
    for auth in roles.values():
        read = await api.http.get(path, headers=auth)
        assert read.status_code == 200, read.text
        answers.append(read)
    answers.append(await api.http.get("/bridges", headers=roles["marketer"]))

    same = {**_bridge(), "name": "renamed", "version": 1}
    kept = await api.http.put(path, headers=roles["developer"], json=same)
    assert kept.json()["connection"]["password_set"] is True, kept.text
    moved = _bridge(url="mqtt://elsewhere.example:1883") | {"version": 2}
    elsewhere = await api.http.put(path, headers=roles["developer"], json=moved)
    assert elsewhere.json()["connection"]["password_set"] is False, elsewhere.text
    answers += [kept, elsewhere]
    for answer in answers:
        assert PASSWORD not in answer.text and "sealed" not in answer.text

    key = f"bridge/{TENANT}/staging/{bridge['id']}".encode()
    raw = await read_topic(
        api.settings.kafka_servers,
        Topics(api.settings.topic_prefix).config,
        None,
        until=lambda rs: sum(r["_key"] == key for r in rs) >= 3,
    )
    assert all(PASSWORD.encode() not in r["_value"] for r in raw if r["_key"] == key)


async def test_bridges_follow_roles_contexts_and_deploys(api: Api, roles: Roles) -> None:
    refused = await api.http.post("/bridges", headers=roles["marketer"], json=_bridge())
    assert refused.status_code == 403
    created = await api.http.post("/bridges", headers=roles["developer"], json=_bridge())
    assert created.status_code == 201 and created.headers["x-context-hint"]
    bridge_id = created.json()["id"]
    production = {"x-context": "production"}
    assert (await api.http.get("/bridges", headers={**roles["admin"], **production})).json() == []
    deployed = await api.http.post(f"/bridges/{bridge_id}/deploy", headers=roles["admin"])
    assert deployed.status_code == 200, deployed.text
    listed = await api.http.get("/bridges", headers={**roles["admin"], **production})
    assert [b["id"] for b in listed.json()] == [bridge_id]


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"connection": {"url": "mqtt://u:p@h:1"}}, "body", "no credentials"),
        ({"connection": {"url": "http://h"}}, "body", "mqtt or mqtts"),
        ({"mapping": {"event_type": "type"}}, "mapping.event_type", "not a value spec"),
        ({"subscription": {"topics": ["a/#/b"]}}, "subscription.topics", "topic filter"),
        ({"subscription": {"queue": "q"}}, "body", "subscription.topics"),
        (
            {
                "channel": "smtp",
                "connection": {"url": "smtp://:2525", "username": "hw"},
                "subscription": {},
            },
            "body",
            "an smtp bridge listens: no username/password",
        ),
        ({"subscription": {"topics": ["a"], "folder": "INBOX"}}, "body", "imap/smtp bridges"),
    ],
)
async def test_a_bridge_that_could_never_run_is_refused_with_the_reason(
    api: Api, roles: Roles, change: dict[str, Any], field: str, reason: str
) -> None:
    answer = await api.http.post("/bridges", headers=roles["developer"], json=_bridge() | change)
    assert answer.status_code == 422, answer.text
    assert reason in answer.json()["error"] and answer.json()["field"].endswith(field)


async def test_the_bridge_process_connects_with_the_sealed_password(
    api: Api, roles: Roles, amqp: AmqpServer
) -> None:
    production = {**roles["admin"], "x-context": "production"}
    body = {
        "channel": "amqp",
        "connection": {"url": f"amqp://{amqp.host}:{amqp.port}/", "username": "guest"},
        "subscription": {"queue": f"{api.settings.topic_prefix}-api", "declare": True},
        "mapping": {"event_type": "topic"},
    }
    right = {**body, "connection": {**body["connection"], "password": "guest"}}
    wrong = {**body, "connection": {**body["connection"], "password": "not-" + PASSWORD}}
    good = (await api.http.post("/bridges", headers=production, json=right)).json()
    bad = (await api.http.post("/bridges", headers=production, json=wrong)).json()
    async with running_bridges(api.settings, "amqp") as process:

        async def settled() -> bool:
            states = {i: process.stats.get(i) for i in (good["id"], bad["id"])}
            return all(s is not None and s.connects + bool(s.error) for s in states.values())

        await eventually(settled, timeout=30)
        assert process.stats[good["id"]].state == "connected"
        refused = process.stats[bad["id"]]
        assert refused.state == "reconnecting" and refused.connects == 0
        assert refused.error and PASSWORD not in refused.error


async def test_an_imap_bridge_logs_in_with_its_sealed_password_never_shown(
    api: Api, roles: Roles, imap: ImapServer
) -> None:
    production = {**roles["admin"], "x-context": "production"}
    connection = {"url": f"imap://{imap.host}:{imap.port}", "username": imap.user}
    body = {
        "channel": "imap",
        "connection": {**connection, "password": imap.password},
        "subscription": {"folder": "INBOX", "headers": ["X-Customer"]},
        "mapping": {"event_type": "value:email", "profile_id": "json:sender_id"},
    }
    wrong = {**body, "connection": {**connection, "password": "not-" + PASSWORD}}
    created = await api.http.post("/bridges", headers=production, json=body)
    assert created.status_code == 201, created.text
    bad = (await api.http.post("/bridges", headers=production, json=wrong)).json()
    good = created.json()
    read = await api.http.get(f"/bridges/{good['id']}", headers=production)
    assert read.json()["connection"]["password_set"] is True
    for answer in (created, read):
        assert imap.password not in answer.text and "sealed" not in answer.text
    async with running_bridges(api.settings, "imap") as process:

        async def settled() -> bool:
            states = {i: process.stats.get(i) for i in (good["id"], bad["id"])}
            return all(s is not None and s.connects + bool(s.error) for s in states.values())

        await eventually(settled, timeout=30)
        assert process.stats[good["id"]].state == "connected"
        refused = process.stats[bad["id"]]
        # between two tries (Dovecot answers a wrong password after 2 s)
        assert refused.state in ("reconnecting", "connecting") and refused.connects == 0
        assert refused.error and PASSWORD not in refused.error and "LOGIN" in refused.error
