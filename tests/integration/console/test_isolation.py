"""Tenant isolation: tenant A's credentials never read or change tenant B's
configuration or data, whatever ids they guess."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from headwater.core.ports.search import BulkAction
from headwater.core.tenancy import generation_index, profiles_alias, sessions_alias
from tests.integration.console.conftest import Api, event_action
from tests.integration.console.test_routes_need_auth import TMS, enumerate_routes

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/sources/{entity_id}"): {"name": "hijacked", "enabled": False},
    ("PUT", "/mappings/{entity_id}"): {"event_type": "hijacked"},
    ("PUT", "/event-types/{entity_id}"): {"event_type": "hijacked"},
    ("PUT", "/flows/{entity_id}"): {"nodes": [{"id": "start", "action": "start"}]},
    ("PUT", "/rules/{entity_id}"): {"flow_id": "f", "event_type": "hijacked"},
    ("PUT", "/segments/{entity_id}"): {"condition": "profile.stats.visits > 0"},
    ("POST", "/sources/{entity_id}/write-keys"): {"name": "stolen"},
    ("POST", "/sources/{entity_id}/signing-secret"): {},
    ("PUT", "/bridges/{entity_id}"): {
        "name": "hijacked",
        "channel": "mqtt",
        "connection": {"url": "mqtt://broker.example:1883"},
        "subscription": {"topics": ["stolen/#"]},
        "mapping": {"event_type": "value:stolen"},
    },
    ("PATCH", "/users/{user_id}"): {"role": "marketer", "disabled": True},
}


def snapshot(api: Api, tenant: str) -> dict[str, tuple[int, Any]]:
    return {e.key: (e.version, e.data) for e in api.runtime.config.entries() if e.tenant == tenant}


async def store_data(api: Api, tenant: str, env: str, profile_id: str) -> None:
    """A profile, an event and a session of ``tenant``, written where the worker would."""
    prefix = api.settings.index_prefix
    now = datetime.now(UTC)
    stamp = now.isoformat()
    actions = [
        event_action(api.settings, tenant, env, now, f"ev-{profile_id}", "purchase", profile_id),
        BulkAction(
            generation_index(profiles_alias(prefix, tenant, env)),
            profile_id,
            {"id": profile_id, "tenant": tenant, "env": env, "ids": [profile_id]},
            op="index",
        ),
        BulkAction(
            generation_index(sessions_alias(prefix, tenant, env)),
            f"se-{profile_id}",
            {
                "id": f"se-{profile_id}",
                "tenant": tenant,
                "env": env,
                "profile": {"id": profile_id},
                "start": stamp,
            },
            op="index",
        ),
    ]
    await api.store(tenant, env, actions)


async def test_a_tenant_cannot_touch_another_tenants_configuration(api: Api) -> None:
    a = await api.tenant("iso_a")
    b = await api.tenant("iso_b")
    a_admin = await api.token("admin@iso_a.example")
    b_admin = await api.token("admin@iso_b.example")
    b_source = (await api.http.post("/sources", headers=b_admin, json={"name": "b"})).json()["id"]
    b_mapping = await api.http.post(
        "/mappings",
        headers=b_admin,
        json={
            "event_type": "purchase",
            "fields": [{"source": "properties.total", "target": "traits.total"}],
        },
    )
    assert b_mapping.status_code == 201, b_mapping.text
    b_event_type = await api.http.post(
        "/event-types",
        headers=b_admin,
        json={"event_type": "purchase", "json_schema": {"required": ["total"]}},
    )
    assert b_event_type.status_code == 201, b_event_type.text
    b_flow = await api.http.post(
        "/flows", headers=b_admin, json={"nodes": [{"id": "start", "action": "start"}]}
    )
    b_rule = await api.http.post(
        "/rules", headers=b_admin, json={"flow_id": b_flow.json()["id"], "event_type": "buy"}
    )
    b_segment = await api.http.post(
        "/segments", headers=b_admin, json={"condition": "profile.stats.visits > 1"}
    )
    b_automation = [b_flow.json()["id"], b_rule.json()["id"], b_segment.json()["id"]]
    b_secret = await api.http.put("/secrets/b_secret", headers=b_admin, json={"value": "s3cr3t"})
    assert b_secret.status_code in (200, 201), b_secret.text
    b_settings = await api.http.put(
        "/merge-settings",
        headers=b_admin,
        json={"keys": [{"name": "email", "path": "data.contact.email", "kind": "email"}]},
    )
    assert b_settings.status_code == 200, b_settings.text
    b_write_key = (await api.http.get(f"/sources/{b_source}", headers=b_admin)).json()[
        "write_keys"
    ][0]["id"]
    BODIES[("POST", "/sources/{entity_id}/write-keys/revoke")] = {"id": b_write_key}
    BODIES[("POST", "/sources/{entity_id}/write-keys/rotate")] = {"id": b_write_key}
    b_bridge = await api.http.post(
        "/bridges", headers=b_admin, json=BODIES[("PUT", "/bridges/{entity_id}")]
    )
    assert b_bridge.status_code == 201, b_bridge.text
    b_key = await api.http.post("/api-keys", headers=b_admin, json={"name": "b", "role": "admin"})
    b_key_id, b_key_secret = b_key.json()["id"], b_key.json()["key"].rsplit(".", 1)[1]
    b_job = await api.http.post("/jobs", headers=b_admin, json={"kind": "replay"})
    assert b_job.status_code == 202, b_job.text
    guesses = {
        "entity_id": [
            b_source,
            b_mapping.json()["id"],
            b_event_type.json()["id"],
            b_bridge.json()["id"],
            *b_automation,
            *b["sources"].values(),
        ],  # type: ignore[union-attr]
        "user_id": [b["admin_id"]],
        "key_id": [b_key_id],
        "job_id": [b_job.json()["id"]],
        "profile_id": ["b-profile"],
        "name": ["b_secret"],
        "kind": ["flows", "rules", "segments", "event-types", "mappings"],  # /history
    }
    before = snapshot(api, "iso_b")
    assert len(before) >= 5

    app = api.http._transport.app  # type: ignore[attr-defined]
    swept = 0
    for route in enumerate_routes(app):
        names = re.findall(r"\{([^}]+)\}", route.path)
        if route.needs in (None, TMS) or not names:
            continue
        if (route.method, route.path) == ("PUT", "/secrets/{name}"):
            continue  # names a secret of the caller's own tenant: it cannot reach b's
        for guess in itertools.product(*(guesses[name] for name in names)):
            for context in ("staging", "production"):
                path = route.path
                for name, value in zip(names, guess, strict=True):
                    path = path.replace(f"{{{name}}}", str(value))
                response = await api.http.request(
                    route.method,
                    path,
                    headers={**a_admin, "x-context": context},
                    json=BODIES.get((route.method, route.path)),
                )
                swept += 1
                assert response.status_code == 404, (route.method, path, response.text)
    assert swept >= 20
    # the tenant-less routes act on the caller's own settings only
    a_settings = await api.http.put(
        "/merge-settings",
        headers=a_admin,
        json={"keys": [{"name": "crm", "path": "traits.crm_id", "unique": True}]},
    )
    assert a_settings.status_code == 200
    assert (await api.http.delete("/merge-settings", headers=a_admin)).status_code == 204
    assert snapshot(api, "iso_b") == before  # not one of B's entities changed

    listed = {
        "/sources": (await api.http.get("/sources", headers=a_admin)).json(),
        "/mappings": (await api.http.get("/mappings", headers=a_admin)).json(),
        "/event-types": (await api.http.get("/event-types", headers=a_admin)).json(),
        "/flows": (await api.http.get("/flows", headers=a_admin)).json(),
        "/rules": (await api.http.get("/rules", headers=a_admin)).json(),
        "/segments": (await api.http.get("/segments", headers=a_admin)).json(),
        "/users": (await api.http.get("/users", headers=a_admin)).json(),
        "/api-keys": (await api.http.get("/api-keys", headers=a_admin)).json(),
    }
    assert b_source not in str(listed) and str(b["admin_id"]) not in str(listed)
    assert b_key_id not in str(listed) and b_mapping.json()["id"] not in str(listed)
    assert b_event_type.json()["id"] not in str(listed)
    assert not any(i in str(listed) for i in b_automation)
    assert {u["email"] for u in listed["/users"]} == {"admin@iso_a.example"}
    assert a["admin_id"] != b["admin_id"]

    # B's key presented as if it were A's: the tenant in the key picks where to look
    forged = f"hwk.iso_a.{b_key_id}.{b_key_secret}"
    assert (await api.http.get("/sources", headers={"x-api-key": forged})).status_code == 401


async def test_a_tenant_cannot_read_another_tenants_data(api: Api) -> None:
    await api.tenant("iso_c")
    await api.tenant("iso_d")
    for env in ("staging", "production"):
        await store_data(api, "iso_c", env, "c-profile")
        await store_data(api, "iso_d", env, "d-profile")
    c_admin = await api.token("admin@iso_c.example")

    for env in ("staging", "production"):
        headers = {**c_admin, "x-context": env}
        for family in ("events", "profiles", "sessions"):
            page = (await api.http.get(f"/{family}", headers=headers)).json()
            assert page["total"] == 1, (family, page)
            assert {item["tenant"] for item in page["items"]} == {"iso_c"}
        own = await api.http.get("/profiles/c-profile", headers=headers)
        assert own.status_code == 200 and own.json()["tenant"] == "iso_c"
        other = await api.http.get("/profiles/d-profile", headers=headers)
        assert other.status_code == 404
        guessed = await api.http.get("/events", headers=headers, params={"profile_id": "d-profile"})
        # nor does the hint about the other context count the other tenant's events
        assert guessed.json() == {
            "total": 0,
            "items": [],
            "next": None,
            "context": env,
            "hint": None,
        }
        sessions = await api.http.get(
            "/sessions", headers=headers, params={"profile_id": "d-profile"}
        )
        assert sessions.json()["total"] == 0
