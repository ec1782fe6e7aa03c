"""Finding a profile by an identifier (email, phone, customer id, a configured merge key):
the value is normalised and hashed as the profile agent does before it leaves it."""

from __future__ import annotations

import pytest

from headwater.core.identity import MergeSettings
from headwater.core.ports.search import BulkAction
from headwater.core.profile_ops import claims_to_send
from headwater.core.profiles import Profile
from headwater.core.tenancy import generation_index, profiles_alias
from tests.integration.console.conftest import Api

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def store_profile(api: Api, tenant: str, env: str, profile: Profile, merge: MergeSettings):
    """The profile's snapshot as the worker writes it, with the identifiers it claims."""
    claims_to_send(profile, merge)
    alias = profiles_alias(api.settings.index_prefix, tenant, env)
    document = profile.snapshot()
    outcome = await api.runtime.search.bulk(
        [BulkAction(generation_index(alias), profile.id, document, op="index")]
    )
    assert outcome.written == 1, outcome
    await api.runtime.search.refresh(alias)


def person(tenant: str, env: str, profile_id: str, **data: dict[str, str]) -> Profile:
    profile = Profile.new(tenant, env, profile_id)
    profile.data = dict(data)
    return profile


async def test_a_profile_is_found_by_email_phone_or_customer_id(api: Api) -> None:
    await api.tenant("look_a")
    await api.tenant("look_b")
    ann = person(
        "look_a",
        "production",
        "p-ann",
        contact={"email": "Ann@Example.com", "phone": "+48 600 100 200"},
        identifier={"customer_id": "u-1"},
    )
    await store_profile(api, "look_a", "production", ann, MergeSettings())
    other_tenant = person("look_b", "production", "p-b", contact={"email": "ann@example.com"})
    await store_profile(api, "look_b", "production", other_tenant, MergeSettings())
    await store_profile(
        api, "look_a", "production", person("look_a", "production", "p-bob"), MergeSettings()
    )
    admin = await api.token("admin@look_a.example")

    for identifier in (
        "email:ann@example.com",
        "email: ANN@example.com ",
        "phone:0048 600-100-200",
        "customer_id:u-1",
    ):
        found = await api.http.get("/profiles", headers=admin, params={"identifier": identifier})
        assert found.status_code == 200, found.text
        assert [p["id"] for p in found.json()["items"]] == ["p-ann"], identifier

    nobody = await api.http.get(
        "/profiles", headers=admin, params={"identifier": "email:bob@example.com"}
    )
    assert nobody.status_code == 200 and nobody.json()["total"] == 0


@pytest.mark.parametrize(
    ("identifier", "reason"),
    [
        ("ann@example.com", "identifier must be <key>:<value>"),
        ("fax:123", "no merge key fax; the keys are email, phone, customer_id"),
        ("email:not-an-email", "email:not-an-email identifies nobody"),
        ("customer_id:anonymous", "customer_id:anonymous identifies nobody"),
    ],
)
async def test_an_identifier_that_cannot_match_is_refused_with_the_reason(
    api: Api, identifier: str, reason: str
) -> None:
    await api.tenant("look_c")
    admin = await api.token("admin@look_c.example")

    refused = await api.http.get("/profiles", headers=admin, params={"identifier": identifier})

    assert refused.status_code == 422
    assert refused.json() == {"error": reason, "field": "identifier"}


async def test_a_configured_merge_key_of_the_context_is_looked_up_as_configured(api: Api) -> None:
    await api.tenant("look_d")
    admin = await api.token("admin@look_d.example")
    keys = [{"name": "crm", "path": "traits.crm_id", "kind": "text"}]
    put = await api.http.put(
        "/merge-settings", headers={**admin, "x-context": "production"}, json={"keys": keys}
    )
    assert put.status_code == 200, put.text
    merge = MergeSettings.from_config({"keys": keys})
    profile = Profile.new("look_d", "production", "p-crm")
    profile.traits = {"crm_id": "Acme  Corp"}
    await store_profile(api, "look_d", "production", profile, merge)
    await store_profile(
        api, "look_d", "production", Profile.new("look_d", "production", "x"), merge
    )

    found = await api.http.get("/profiles", headers=admin, params={"identifier": "crm:acme corp"})

    assert [p["id"] for p in found.json()["items"]] == ["p-crm"]
