"""Event-to-profile mappings through the API, in the form the profile agent reads."""

from __future__ import annotations

import pytest

from headwater.core.mapping import MAPPING_KIND, mapping_from_config
from tests.integration.console.conftest import Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

PURCHASE = {
    "event_type": "purchase",
    "fields": [
        {"source": "properties.total", "target": "traits.last_total"},
        {"source": "properties.sku", "target": "traits.skus", "op": "append"},
    ],
}


async def test_a_deployed_mapping_is_what_the_profile_agent_reads(api: Api) -> None:
    await api.tenant("map_a")
    admin = await api.token("admin@map_a.example")
    created = await api.http.post("/mappings", headers=admin, json=PURCHASE)
    assert created.status_code == 201, created.text
    mapping_id = created.json()["id"]
    deployed = await api.http.post(f"/mappings/{mapping_id}/deploy", headers=admin)
    assert deployed.status_code == 200 and deployed.json()["env"] == "production"

    entries = [
        e
        for e in api.runtime.config.entries(MAPPING_KIND)
        if e.tenant == "map_a" and e.env == "production"
    ]
    assert [e.id for e in entries] == [mapping_id]
    mapping = mapping_from_config(entries[0].data)  # the agent's own parser
    assert mapping.event_type == "purchase"
    assert [(f.source, f.target, f.op) for f in mapping.fields] == [
        ("properties.total", "traits.last_total", "equals"),
        ("properties.sku", "traits.skus", "append"),
    ]


@pytest.mark.parametrize(
    "field",
    [
        {"source": "properties.total", "target": "id"},  # not under a profile root
        {"source": "session.id", "target": "traits.session"},  # not from the event's data
        {"source": "properties.total", "target": "traits.x", "op": "replace"},
    ],
)
async def test_mappings_the_agent_would_ignore_are_refused(api: Api, field: dict) -> None:
    await api.tenant("map_b")
    admin = await api.token("admin@map_b.example")
    refused = await api.http.post(
        "/mappings", headers=admin, json={"event_type": "purchase", "fields": [field]}
    )
    assert refused.status_code == 422
    listed = await api.http.get("/mappings", headers=admin)
    assert listed.json() == []
