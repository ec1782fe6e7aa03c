"""What docs/api.md promises to refuse is refused with 422 and the reason: query
parameters a data route does not read, and a rule naming a flow that does not exist in
its context (the agents would never run it)."""

from __future__ import annotations

import pytest

from tests.integration.console.conftest import Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

TENANT = "refusals"
FLOW = {"name": "noop", "nodes": [{"id": "start", "action": "start"}], "edges": []}


async def _admin(api: Api) -> dict[str, str]:
    await api.tenant(TENANT)
    return await api.token(f"admin@{TENANT}.example")


@pytest.mark.parametrize(
    ("path", "unknown"),
    [
        ("/events?email=x", "email"),
        ("/events?type=page-view&emial=x&zip=1", "emial, zip"),
        ("/profiles?email=ann@example.com", "email"),
        ("/profiles/p-1?fields=traits", "fields"),
        ("/sessions?type=x", "type"),
        ("/stats?env=production", "env"),
        ("/stats/events?interval=day&by=type", "by"),
    ],
)
async def test_data_routes_refuse_query_parameters_they_do_not_read(
    api: Api, path: str, unknown: str
) -> None:
    admin = await _admin(api)

    refused = await api.http.get(path, headers=admin)

    assert refused.status_code == 422, refused.text
    assert f"unknown query parameter {unknown};" in refused.json()["error"]
    assert refused.json()["field"] == unknown.split(",")[0]


@pytest.mark.parametrize(
    "path",
    [
        "/events?type=page-view&profile_id=p&session_id=s&source_id=x&size=5&sort=type:asc",
        "/profiles?segment=vip&size=5",
        "/sessions?profile_id=p",
        "/stats/events?interval=day",
    ],
)
async def test_the_parameters_a_route_reads_are_still_accepted(api: Api, path: str) -> None:
    admin = await _admin(api)

    assert (await api.http.get(path, headers=admin)).status_code == 200


async def test_segment_members_refuse_unknown_parameters(api: Api) -> None:
    admin = await _admin(api)
    segment = await api.http.post(
        "/segments", headers=admin, json={"condition": "profile.stats.visits > 1"}
    )

    refused = await api.http.get(f"/segments/{segment.json()['id']}/members?limit=5", headers=admin)

    assert refused.status_code == 422 and "limit" in refused.json()["error"]


async def test_a_rule_must_name_a_flow_of_its_context(api: Api) -> None:
    admin = await _admin(api)
    rule = {"flow_id": "no-such-flow", "event_type": "sign-up"}

    refused = await api.http.post("/rules", headers=admin, json=rule)

    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "flow_id"
    assert "no flow no-such-flow in staging" in refused.json()["error"]

    flow = await api.http.post("/flows", headers=admin, json=FLOW)
    flow_id = flow.json()["id"]
    saved = await api.http.post("/rules", headers=admin, json={**rule, "flow_id": flow_id})
    assert saved.status_code == 201, saved.text
    rule_id = saved.json()["id"]
    changed = await api.http.put(f"/rules/{rule_id}", headers=admin, json=rule)
    assert changed.status_code == 422, changed.text
    in_production = await api.http.post(
        "/rules", headers={**admin, "x-context": "production"}, json={**rule, "flow_id": flow_id}
    )
    assert in_production.status_code == 422, "the flow is only in staging"

    early = await api.http.post(f"/rules/{rule_id}/deploy", headers=admin)
    assert early.status_code == 422 and "production" in early.json()["error"]
    assert (await api.http.post(f"/flows/{flow_id}/deploy", headers=admin)).status_code == 200
    assert (await api.http.post(f"/rules/{rule_id}/deploy", headers=admin)).status_code == 200


async def test_a_rule_condition_reads_only_what_a_rule_sees(api: Api) -> None:
    admin = await _admin(api)
    flow = await api.http.post("/flows", headers=admin, json=FLOW)
    rule = {"flow_id": flow.json()["id"], "event_type": "x", "condition": "payload.total > 3"}

    refused = await api.http.post("/rules", headers=admin, json=rule)

    assert refused.status_code == 422 and "payload.total" in refused.json()["error"]


async def test_a_flow_a_rule_runs_cannot_be_deleted_from_under_it(api: Api) -> None:
    admin = await _admin(api)
    flow = await api.http.post("/flows", headers=admin, json=FLOW)
    flow_id = flow.json()["id"]
    rule = await api.http.post(
        "/rules", headers=admin, json={"flow_id": flow_id, "event_type": "sign-up"}
    )

    refused = await api.http.delete(f"/flows/{flow_id}", headers=admin)

    assert refused.status_code == 409, refused.text
    assert rule.json()["id"] in refused.json()["error"]
    assert (await api.http.delete(f"/rules/{rule.json()['id']}", headers=admin)).status_code == 204
    assert (await api.http.delete(f"/flows/{flow_id}", headers=admin)).status_code == 204


async def test_without_credentials_the_answer_is_401_whatever_the_parameters(api: Api) -> None:
    await _admin(api)

    for path in ("/events?email=x", "/stats?env=x", "/segments/s/members?limit=1"):
        assert (await api.http.get(path)).status_code == 401, path


async def test_a_rule_condition_syntax_error_says_where_it_is(api: Api) -> None:
    admin = await _admin(api)
    flow = await api.http.post("/flows", headers=admin, json=FLOW)
    rule = {"flow_id": flow.json()["id"], "event_type": "x", "condition": "event.type =\n and"}

    refused = await api.http.post("/rules", headers=admin, json=rule)

    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert (body["field"], body["line"], body["column"]) == ("condition", 2, 2)
    assert body["expected"]
