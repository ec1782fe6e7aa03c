"""Merge settings through the API, in the form the agents read."""

from __future__ import annotations

import pytest

from headwater.core.identity import MERGE_SETTINGS_KIND, MergeSettings
from tests.integration.console.conftest import Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SETTINGS = {
    "keys": [
        {"name": "email", "path": "data.contact.email", "kind": "email"},
        {
            "name": "customer_id",
            "path": "data.identifier.customer_id",
            "unique": True,
            "kind": "id",
        },
    ],
    "blocked": ["null", "anonymous"],
    "strategies": {"traits.visits": "sum"},
}


async def test_merge_settings_are_set_deployed_and_read_by_the_agents_parser(api: Api) -> None:
    await api.tenant("merge_a")
    admin = await api.token("admin@merge_a.example")
    assert (await api.http.get("/merge-settings", headers=admin)).status_code == 404  # defaults
    put = await api.http.put("/merge-settings", headers=admin, json=SETTINGS)
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 1 and put.json()["default_strategy"] == "last_update"
    stale = await api.http.put("/merge-settings", headers=admin, json={**SETTINGS, "version": 0})
    assert stale.status_code == 409

    deployed = await api.http.post("/merge-settings/deploy", headers=admin)
    assert deployed.status_code == 200 and deployed.json()["env"] == "production"
    entry = api.runtime.config.get(f"{MERGE_SETTINGS_KIND}/merge_a/production/default")
    assert entry is not None
    settings = MergeSettings.from_config(entry.data)
    assert [(k.name, k.unique) for k in settings.keys] == [("email", False), ("customer_id", True)]
    assert settings.strategies == {"traits.visits": "sum"}
    assert settings.blocked == frozenset({"null", "anonymous"})


@pytest.mark.parametrize(
    "change",
    [
        {"default_strategy": "average"},
        {"strategies": {"traits.visits": "median"}},
        {"strategies": {"visits": "sum"}},
        {"keys": [{"name": "email", "path": "email"}]},
        {"keys": [{"name": "a", "path": "data.a"}, {"name": "a", "path": "data.b"}]},
        {"keys": []},
    ],
)
async def test_settings_the_agents_would_misread_are_refused(api: Api, change: dict) -> None:
    await api.tenant("merge_b")
    admin = await api.token("admin@merge_b.example")
    refused = await api.http.put("/merge-settings", headers=admin, json={**SETTINGS, **change})
    assert refused.status_code == 422, refused.text
    assert (await api.http.get("/merge-settings", headers=admin)).status_code == 404
