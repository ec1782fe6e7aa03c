"""Right to be forgotten: no document of the profile is left, other profiles stay."""

from __future__ import annotations

import pytest

from headwater.adapters.search import connect_search
from headwater.core.ports.search import SearchStore
from tests.integration.console.conftest import Api
from tests.integration.console.test_isolation import store_data
from tests.support.services import Endpoints, elasticsearch_client_or_skip

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def count_of(api: Api, tenant: str, profile_id: str) -> int:
    """Documents anywhere in the tenant's indices that mention the profile id."""
    prefix = api.settings.index_prefix
    total = 0
    for env in ("staging", "production"):
        for family in ("events", "profiles", "sessions"):
            total += await api.runtime.search.count(
                f"{prefix}-{tenant}-{env}-{family}",
                {
                    "bool": {
                        "should": [
                            {"ids": {"values": [profile_id]}},
                            {"term": {"profile.id": profile_id}},
                            {"term": {"ids": profile_id}},
                        ],
                        "minimum_should_match": 1,
                    }
                },
            )
    return total


async def test_forgetting_a_profile_leaves_no_document_of_it(api: Api) -> None:
    await api.tenant("forget_a")
    await api.tenant("forget_b")
    for env in ("staging", "production"):
        for tenant, profile in (("forget_a", "p-gone"), ("forget_a", "p-kept")):
            await store_data(api, tenant, env, profile)
        await store_data(api, "forget_b", env, "p-gone")  # same id, another tenant
    admin = await api.token("admin@forget_a.example")
    marketer = await api.user(admin, "m@forget_a.example", "marketer")
    assert await count_of(api, "forget_a", "p-gone") == 6

    refused = await api.http.delete("/profiles/p-gone", headers=marketer)
    assert refused.status_code == 403

    for env in ("staging", "production"):
        done = await api.http.delete("/profiles/p-gone", headers={**admin, "x-context": env})
        assert done.status_code == 200, done.text
        assert done.json() == {"events": 1, "sessions": 1, "profiles": 1}

    assert await count_of(api, "forget_a", "p-gone") == 0
    assert await count_of(api, "forget_a", "p-kept") == 6
    assert await count_of(api, "forget_b", "p-gone") == 6  # the other tenant's is untouched


@pytest.mark.smoke
async def test_delete_by_query_with_the_elasticsearch_client(
    api: Api, endpoints: Endpoints
) -> None:
    """The same port method through the other adapter."""
    elasticsearch_client_or_skip(endpoints)
    await api.tenant("forget_es")
    await store_data(api, "forget_es", "staging", "p-es")
    store: SearchStore = await connect_search(
        api.settings, client="elasticsearch", node_class=endpoints.es_node_class
    )
    try:
        alias = f"{api.settings.index_prefix}-forget_es-staging-events"
        deleted = await store.delete_by_query(alias, {"term": {"profile.id": "p-es"}})
    finally:
        await store.close()
    assert deleted == 1
    assert await api.runtime.search.count(alias, {"term": {"profile.id": "p-es"}}) == 0
