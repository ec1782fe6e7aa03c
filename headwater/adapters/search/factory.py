"""Build the right adapter for the configured search engine."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from headwater.core.ports.search import Engine, SearchStore
from headwater.errors import SearchUnavailable
from headwater.settings import Settings

__all__ = ["connect_search", "detect_engine"]


def _auth_headers(settings: Settings) -> dict[str, str]:
    if settings.search_api_key is not None:
        return {"Authorization": f"ApiKey {settings.search_api_key.get_secret_value()}"}
    if settings.search_username and settings.search_password is not None:
        pair = f"{settings.search_username}:{settings.search_password.get_secret_value()}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    return {}


async def detect_engine(settings: Settings) -> Engine:
    """Ask the server what it is: OpenSearch says so in ``version.distribution``."""
    if settings.search_engine != "auto":
        return settings.search_engine
    url = settings.search_hosts[0].rstrip("/") + "/"
    try:
        async with httpx.AsyncClient(verify=settings.search_verify_certs, timeout=10) as http:
            response = await http.get(url, headers=_auth_headers(settings))
            response.raise_for_status()
            info = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SearchUnavailable(f"search engine at {url} did not answer: {exc}") from exc
    distribution = info.get("version", {}).get("distribution", "elasticsearch")
    return "opensearch" if distribution == "opensearch" else "elasticsearch"


async def connect_search(
    settings: Settings, *, client: Engine | None = None, node_class: Any = None
) -> SearchStore:
    """An adapter for the configured server.

    The mapping dialect always follows the server; ``client`` forces which Python
    client talks to it (tests run the Elasticsearch client against OpenSearch-compatible
    servers too), ``node_class`` is passed to the Elasticsearch client's transport.
    """
    engine = await detect_engine(settings)
    use = client or engine
    hosts = settings.search_hosts
    if use == "elasticsearch":
        from elasticsearch import AsyncElasticsearch

        from headwater.adapters.search.elastic import ElasticsearchStore

        es_kwargs: dict[str, Any] = {"verify_certs": settings.search_verify_certs}
        if node_class is not None:
            es_kwargs["node_class"] = node_class
        if settings.search_api_key is not None:
            es_kwargs["api_key"] = settings.search_api_key.get_secret_value()
        elif settings.search_username and settings.search_password is not None:
            es_kwargs["basic_auth"] = (
                settings.search_username,
                settings.search_password.get_secret_value(),
            )
        return ElasticsearchStore(AsyncElasticsearch(hosts, **es_kwargs), engine)

    from opensearchpy import AsyncOpenSearch

    from headwater.adapters.search.opensearch import OpenSearchStore

    os_kwargs: dict[str, Any] = {"verify_certs": settings.search_verify_certs}
    if settings.search_username and settings.search_password is not None:
        os_kwargs["http_auth"] = (
            settings.search_username,
            settings.search_password.get_secret_value(),
        )
    if settings.search_api_key is not None:
        os_kwargs["headers"] = _auth_headers(settings)
    return OpenSearchStore(AsyncOpenSearch(hosts, **os_kwargs), engine)
