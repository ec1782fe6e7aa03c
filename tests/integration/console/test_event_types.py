"""Event validation and reshaping through the API, in the form the profile agent reads."""

from __future__ import annotations

import orjson
import pytest

from headwater.core.validation import EVENT_TYPE_KIND, event_type_rules
from tests.integration.console.conftest import Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

PURCHASE = {
    "event_type": "purchase",
    "moves": {"properties.total": "properties.order.total"},
    "json_schema": {"type": "object", "required": ["total"]},
}


async def test_a_deployed_event_type_is_what_the_profile_agent_reads(api: Api) -> None:
    await api.tenant("evt_a")
    admin = await api.token("admin@evt_a.example")
    created = await api.http.post("/event-types", headers=admin, json=PURCHASE)
    assert created.status_code == 201, created.text
    assert created.json()["json_schema"] == PURCHASE["json_schema"]
    deployed = await api.http.post(f"/event-types/{created.json()['id']}/deploy", headers=admin)
    assert deployed.status_code == 200 and deployed.json()["env"] == "production"

    [entry] = [
        e
        for e in api.runtime.config.entries(EVENT_TYPE_KIND)
        if e.tenant == "evt_a" and e.env == "production"
    ]
    rules = event_type_rules(entry.data)  # the agent's own parser
    checked = rules.check(orjson.dumps({"order": {"total": 3}}), {})
    assert checked.errors == []
    assert orjson.loads(checked.properties or b"") == {"order": {}, "total": 3}
    assert rules.check(b"{}", {}).errors == ["properties/(root): 'total' is a required property"]


@pytest.mark.parametrize(
    "body",
    [
        {"event_type": "x", "json_schema": {"type": "not-a-type"}},
        {"event_type": "x", "moves": {"traits.a": "properties.a"}},
    ],
)
async def test_event_types_the_agent_would_ignore_are_refused(api: Api, body: dict) -> None:
    await api.tenant("evt_b")
    admin = await api.token("admin@evt_b.example")

    refused = await api.http.post("/event-types", headers=admin, json=body)

    assert refused.status_code == 422, refused.text
    assert (await api.http.get("/event-types", headers=admin)).json() == []
