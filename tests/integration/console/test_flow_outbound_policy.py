"""Saving a flow: outbound nodes the operator's policy refuses answer 422 with the
reason (templated hosts, literal non-public addresses, the platform's topics, names
outside the tenant's prefixes); the send-time checks are in the destinations tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.console.conftest import Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def _flow(action: str, config: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "outbound",
        "nodes": [
            {"id": "start", "action": "start"},
            {"id": "out", "action": action, "config": config},
        ],
        "edges": [{"from": "start", "to": "out"}],
    }


@pytest.mark.parametrize(
    ("action", "config", "reason"),
    [
        ("webhook", {"url": "http://{{event.properties.h}}/x"}, "must be literal"),
        ("http-call", {"url": "http://169.254.169.254/latest/"}, "link-local address"),
        ("http-call", {"url": "http://0x7f000001:8080/users"}, "loopback address"),
        ("webhook", {"url": "http://[::1]:9200/_all/_search"}, "loopback address"),
        ("publish-kafka", {"topic": "{prefix}.config", "key": "user/x"}, "belongs to the platform"),
        ("publish-kafka", {"topic": "{{event.properties.t}}"}, "outside the tenant's prefixes"),
        ("publish-mqtt", {"topic": "other/devices"}, "outside the tenant's prefixes"),
    ],
)
async def test_a_flow_the_outbound_policy_refuses_is_not_saved(
    api: Api, action: str, config: dict[str, Any], reason: str
) -> None:
    await api.tenant("out_a")
    admin = await api.token("admin@out_a.example")

    prefix = api.runtime.settings.topic_prefix
    config = {k: v.replace("{prefix}", prefix) for k, v in config.items()}
    refused = await api.http.post("/flows", headers=admin, json=_flow(action, config))

    assert refused.status_code == 422, refused.text
    assert reason in refused.text
    assert (await api.http.get("/flows", headers=admin)).json() == []


async def test_a_flow_within_the_policy_is_saved(api: Api) -> None:
    await api.tenant("out_b")
    admin = await api.token("admin@out_b.example")
    allowed: list[tuple[str, dict[str, Any]]] = [
        ("webhook", {"url": "https://crm.example/p/{{profile.id}}"}),
        ("publish-kafka", {"topic": "out_b.orders", "key": "{{profile.id}}"}),
        ("send-email", {"to": ["a@example.com", "b@example.com"], "subject": "s", "body": "b"}),
    ]
    for action, config in allowed:
        saved = await api.http.post("/flows", headers=admin, json=_flow(action, config))
        assert saved.status_code == 201, saved.text
