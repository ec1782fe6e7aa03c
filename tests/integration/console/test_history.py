"""``GET /history/{kind}/{id}``: every version of one entity, from the history topic,
newest first, for its own tenant only."""

from __future__ import annotations

import pytest

from tests.integration.console.conftest import Api
from tests.integration.console.test_automation_routes import FLOW

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_versions_of_a_flow_newest_first_and_only_the_tenants_own(api: Api) -> None:
    await api.tenant("hist_a")
    await api.tenant("hist_b")
    admin = await api.token("admin@hist_a.example")
    other = await api.token("admin@hist_b.example")
    made = await api.http.post("/flows", headers=admin, json={**FLOW, "name": "first"})
    assert made.status_code == 201, made.text
    flow_id = made.json()["id"]
    for number, name in ((1, "second"), (2, "third")):
        changed = await api.http.put(
            f"/flows/{flow_id}", headers=admin, json={**FLOW, "name": name, "version": number}
        )
        assert changed.status_code == 200, changed.text

    answer = await api.http.get(f"/history/flows/{flow_id}", headers=admin)
    assert answer.status_code == 200, answer.text
    versions = answer.json()
    assert [(v["version"], v["data"]["name"]) for v in versions] == [
        (3, "third"),
        (2, "second"),
        (1, "first"),
    ]
    assert versions[0]["updated_by"]

    # another tenant asking for the same id sees nothing of it
    assert (await api.http.get(f"/history/flows/{flow_id}", headers=other)).status_code == 404
    # production has no version until a deploy
    production = {**admin, "x-context": "production"}
    assert (await api.http.get(f"/history/flows/{flow_id}", headers=production)).status_code == 404
    assert (await api.http.post(f"/flows/{flow_id}/deploy", headers=admin)).status_code == 200
    deployed = await api.http.get(f"/history/flows/{flow_id}", headers=production)
    assert [v["data"]["name"] for v in deployed.json()] == ["third"]
    # sources are not listed: their data holds write-key hashes
    assert (await api.http.get(f"/history/sources/{flow_id}", headers=admin)).status_code == 422
