"""Merge keys and strategies: versioned per context and deployable like every kind."""

from __future__ import annotations

import pytest

from headwater.core.merge_rules import MERGE_RULES_KIND, MergeRules
from tests.integration.console.conftest import Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

RULES = {
    "keys": ["data.contact.email", "data.identifier.customer_id"],
    "unique_keys": ["data.identifier.customer_id"],
    "strategies": {"traits.visits": "sum"},
}


async def test_merge_rules_round_trip_and_deploy(api: Api) -> None:
    await api.tenant("merge_a")
    admin = await api.token("admin@merge_a.example")
    created = await api.http.post("/merge-rules", headers=admin, json=RULES)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["keys"] == RULES["keys"] and body["default"] == "last_update"
    rules_id = body["id"]

    bad = await api.http.put(
        f"/merge-rules/{rules_id}", headers=admin, json={**RULES, "default": "average"}
    )
    assert bad.status_code == 422
    deployed = await api.http.post(f"/merge-rules/{rules_id}/deploy", headers=admin)
    assert deployed.status_code == 200 and deployed.json()["env"] == "production"

    entry = api.runtime.config.get(f"{MERGE_RULES_KIND}/merge_a/production/{rules_id}")
    assert entry is not None
    assert MergeRules.model_validate(entry.data).strategies == {"traits.visits": "sum"}
