"""``GET /actions``: the flow editor's palette is the registry the API validates with."""

from __future__ import annotations

import pytest

from headwater.console.routes.automation import registry
from tests.integration.console.conftest import Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_every_installed_action_with_its_schema_and_ports(api: Api) -> None:
    roles = await api.roles("actions_a")
    found = await api.http.get("/actions", headers=roles["marketer"])
    assert found.status_code == 200, found.text
    by_name = {a["name"]: a for a in found.json()}
    assert sorted(by_name) == registry().names()
    condition = by_name["if"]
    assert (condition["family"], condition["outputs"]) == ("flow", ["true", "false"])
    assert condition["config_schema"]["required"] == ["condition"]
    assert by_name["webhook"]["side_effects"] is True
    assert by_name["start"]["inputs"] == []
